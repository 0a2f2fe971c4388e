"""What the commands do, end to end: render and check, plan, update, bootstrap, the demo, and the
environment commands that talk to Jenkins. Each function here sequences the layers below it
(push, graph, environments, render); the CLI parses arguments, calls one of them and prints."""
