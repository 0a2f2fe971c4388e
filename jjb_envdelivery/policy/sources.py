"""The branch sources of a multibranch Pipeline project, and the repository each one builds.

A ``WorkflowMultiBranchProject`` lists its sources as ``<sources class="jenkins.branch.MultiBranchProject$
BranchSourceList"><data><jenkins.branch.BranchSource><source class="...">`` (branch-api
MultiBranchProject.java:144, 1157; BranchSource.java:54-67; jenkins-plugin-semantics.md §12). Each
source class names its repository in its own fields; ``repository_url`` gives the URL it clones
(what the job policy judges like a GitSCM url, and what the job graph links to a repository):

- ``GitHubSCMSource`` (``repoOwner``, ``repository``, ``apiUri``): ``https://<host>/<owner>/<repo>.git``,
  the host taken from ``apiUri`` unless it is absent or ``api.github.com`` (then ``github.com``),
  ``http://`` when ``apiUri`` is not https (github-branch-source @ 3c34f678
  HttpsRepositoryUriResolver.java:getRepositoryUri, RepositoryUriResolver.java:hostnameFromApiUri).
  So GitHub Enterprise's ``https://ghe.example.com/api/v3`` clones ``https://ghe.example.com/<owner>/<repo>.git``.
- ``BitbucketSCMSource`` (``repoOwner``, ``repository``, ``serverUrl``): Bitbucket Cloud (no
  ``serverUrl``, or ``https://bitbucket.org``) clones ``https://bitbucket.org/<owner>/<repo>.git``;
  Bitbucket Server/Data Center ``<serverUrl>/scm/<project key>/<repo>.git``, both lower-cased as
  the server writes its clone links.
- ``GerritSCMSource`` and ``GitSCMSource``: ``remote``, as written (git GitSCMSource.java:126-183).

Pure functions of the XML; imports nothing else of the package.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

GITHUB_SOURCE = "org.jenkinsci.plugins.github_branch_source.GitHubSCMSource"
BITBUCKET_SOURCE = "com.cloudbees.jenkins.plugins.bitbucket.BitbucketSCMSource"
GERRIT_SOURCE = "jenkins.plugins.gerrit.GerritSCMSource"
GIT_SOURCE = "jenkins.plugins.git.GitSCMSource"
# Every source class this module reads, with the fields its repository URL is made of.
SOURCE_FIELDS = {
    GITHUB_SOURCE: ("apiUri", "repoOwner", "repository"),
    BITBUCKET_SOURCE: ("serverUrl", "repoOwner", "repository"),
    GERRIT_SOURCE: ("remote",),
    GIT_SOURCE: ("remote",),
}
BRANCH_SOURCE = "jenkins.branch.BranchSource"
BITBUCKET_CLOUD = "https://bitbucket.org"


def _text(source: ET.Element, field: str) -> str:
    return (source.findtext(field) or "").strip()


def repository_url(source: ET.Element) -> str:
    """The repository URL a branch source (its ``<source class=...>`` element) clones; '' if
    the class is not one of ``SOURCE_FIELDS`` or the fields are blank."""
    cls = source.get("class") or source.tag
    if cls in (GERRIT_SOURCE, GIT_SOURCE):
        return _text(source, "remote")
    owner, repo = _text(source, "repoOwner"), _text(source, "repository")
    if not owner or not repo:
        return ""
    if cls == GITHUB_SOURCE:
        api = _text(source, "apiUri")
        try:
            host = urlsplit(api).hostname if api else None
        except ValueError:  # java.net.URL refuses it too: github.com
            host = None
        host = host if host and host != "api.github.com" else "github.com"
        scheme = "https" if not api or api.startswith("https://") else "http"
        return f"{scheme}://{host}/{owner}/{repo}.git"
    if cls == BITBUCKET_SOURCE:
        server = _text(source, "serverUrl").rstrip("/")
        if not server or server == BITBUCKET_CLOUD:
            return f"{BITBUCKET_CLOUD}/{owner}/{repo}.git".lower()
        return f"{server}/scm/{owner.lower()}/{repo.lower()}.git"
    return ""


def branch_sources(root: ET.Element) -> list[ET.Element]:
    """The ``source`` element of every BranchSource of a multibranch project's config.xml."""
    return [s for bs in root.iter(BRANCH_SOURCE) for s in bs.findall("source")]
