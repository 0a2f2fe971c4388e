"""HTTP answers of the Jenkins REST emulator: the response, and the pages Jenkins answers with
(statuses and headers of shared/reference/jenkins-rest.md §2.13). Shared by the request
dispatcher (``jenkins_emulator``) and the endpoint groups beside it (``emulator_forms``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from html import escape


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    write: bool = False


class Reply(Exception):
    """Ends request handling early with a response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _html(title: str, text: str) -> bytes:
    return (f"<!DOCTYPE html><html><head><title>{escape(title)} [REST emulator]</title></head>"
            f"<body><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>").encode()


def _header_value(text: str) -> str:
    # Jetty's HttpGenerator.putSanitisedValue: chars above 0xFF and CR/LF become spaces.
    return "".join(" " if ord(c) > 0xFF or c in "\r\n" else c for c in text)


def not_found() -> Reply:
    return Reply(Response(404, _html("Not Found", "Not Found"), "text/html;charset=utf-8"))


def failure(message: str) -> Reply:
    return Reply(Response(400, _html("Error", message), "text/html;charset=utf-8",
                          [("X-Error", _header_value(message))]))


def method_not_allowed() -> Reply:
    return Reply(Response(405, _html("Method Not Allowed", "This URL requires POST"),
                          "text/html;charset=utf-8", [("Allow", "POST")]))


def oops() -> Reply:
    logging_id = uuid.uuid4()
    return Reply(Response(500, _html("Oops!", f"A problem occurred while processing the request. "
                                               f"Logging ID={logging_id}"),
                          "text/html;charset=utf-8"))


def redirect(location: str, status: int = 302, write: bool = True) -> Response:
    return Response(status, b"", None, [("Location", location)], write=write)
