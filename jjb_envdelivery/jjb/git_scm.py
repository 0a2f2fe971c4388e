"""The ``envdelivery-git`` SCM: JJB's own ``git``, without an empty credential.

A template parameter for a credential ID defaults to '' (anonymous clone), and JJB's ``git``
writes whatever it is given: ``<credentialsId/>``. The git plugin reads that as the ID ""
rather than as no credential (only null means "No credentials specified"), finds no credential
for it and logs ``Warning: CredentialId "" could not be found.`` on every checkout and poll
(git-plugin@add6e4dc src/main/java/hudson/plugins/git/GitSCM.java:918-936, 947-951;
UserRemoteConfig's constructor, which turns "" into null, UserRemoteConfig.java:57-62, does not
run when Jenkins loads XML). This component drops a blank ``credentials-id`` and hands
everything else to JJB's ``git`` unchanged.

Registered in the ``jenkins_jobs.scm`` entry-point group.
"""

from __future__ import annotations

from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.modules.scm import git as jjb_git

GIT = "envdelivery-git"


def _without_blank_credential(options: dict) -> dict:
    credential = options.get("credentials-id")
    if credential is None:
        return dict(options)
    if not isinstance(credential, str):
        raise JenkinsJobsException(
            f"scm.{GIT}.credentials-id: expected a Jenkins credential ID (a string, '' for none), "
            f"not {credential!r}"
        )
    kept = {key: value for key, value in options.items() if key != "credentials-id"}
    if credential.strip():
        kept["credentials-id"] = credential.strip()
    return kept


def envdelivery_git(registry, xml_parent, data):
    """yaml: envdelivery-git
    JJB's ``git`` SCM (every option of it), except that an empty ``credentials-id`` writes no
    ``credentialsId`` element: the clone is anonymous and the git plugin logs no warning about a
    missing credential "".

    :arg str credentials-id: Jenkins credential ID for the repository, or '' for none
        (default: none). Also honoured inside each entry of ``remotes``.

    Every other option is JJB's ``git``'s.

    Example::

        scm:
          - envdelivery-git:
              url: https://git.example.com/payments/billing-api.git
              credentials-id: '{git-credential-id}'
              branches:
                - refs/heads/main
    """
    if not isinstance(data, dict):
        raise JenkinsJobsException(
            f"scm.{GIT}: expected a mapping of JJB git options, e.g. {{url: https://git.example.com/x.git}}, "
            f"not {data!r}"
        )
    options = _without_blank_credential(data)
    if isinstance(options.get("remotes"), list):
        remotes = []
        for remote in options["remotes"]:
            if isinstance(remote, dict) and len(remote) == 1:
                (name, params), = remote.items()
                if isinstance(params, dict):
                    remote = {name: _without_blank_credential(params)}
            remotes.append(remote)
        options["remotes"] = remotes
    # JJB's own function, called directly: its errors are JJB's and name the component through
    # the dispatch of envdelivery-git that is running.
    jjb_git(registry, xml_parent, options)
