"""A base image built on this machine, without any registry: Debian's statically linked BusyBox
(package ``busybox-static``) with a link per applet, imported with ``<engine> import``.

The container example organisation's services and the test suite build their images on top of
it, so nothing is pulled from the internet.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from .engine import Engine, EngineError

BUSYBOX_PATHS = ("/bin/busybox", "/usr/bin/busybox")


def find_busybox() -> Path:
    for candidate in BUSYBOX_PATHS:
        path = Path(candidate)
        if path.is_file() and _static(path):
            return path
    raise EngineError("no statically linked busybox here (Debian: apt-get install busybox-static)")


def _static(path: Path) -> bool:
    """A dynamically linked BusyBox would need the host's libc inside the image."""
    done = subprocess.run([str(path), "--list"], capture_output=True, text=True)
    if done.returncode != 0:
        return False
    with open(path, "rb") as binary:
        head = binary.read(1 << 16)
    return b"ld-linux" not in head and b"/lib64/ld" not in head


def rootfs_tar(busybox: Path) -> bytes:
    """A root file system: /bin/busybox, a link per applet, /tmp, and the files a shell expects."""
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for directory, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777), ("srv", 0o755), ("data", 0o755)):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(str(busybox), arcname="bin/busybox")
        for applet in applets:
            if applet != "busybox":
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"),
                           ("etc/group", "root:x:0:\nnogroup:x:65534:\n")):
            payload = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(payload), 0o644
            tar.addfile(info, io.BytesIO(payload))
    return data.getvalue()


def import_busybox_image(engine: Engine, tag: str) -> str:
    """Import the BusyBox root file system as ``tag``; returns the image id."""
    busybox = find_busybox()
    done = engine.run(["import", "-", tag], f"importing {busybox} as {tag}", data=rootfs_tar(busybox))
    return done.stdout.decode().strip().splitlines()[-1]
