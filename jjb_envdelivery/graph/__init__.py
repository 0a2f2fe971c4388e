"""The pipeline graph of an organisation: its checks and pictures."""
