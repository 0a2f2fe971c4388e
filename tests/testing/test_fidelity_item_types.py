"""Item types JJB writes beyond freestyle and folders, job properties in ``api/json``, the queue
``Location`` of ``buildWithParameters``, users and credential stores.

Sources: [core] jenkinsci/jenkins@8bfbe686 (tag jenkins-2.492.3) ``core/src/main/java/``;
[wfjob] jenkinsci/workflow-job-plugin@cef6baef; [wfmb] jenkinsci/workflow-multibranch-plugin@59f7718;
[bapi] jenkinsci/branch-api-plugin@e73a56d; [folder] jenkinsci/cloudbees-folder-plugin@b72f4d5c;
[scm-api] jenkinsci/scm-api-plugin@24df4bb; [cred] jenkinsci/credentials-plugin@d96751bc.
Plugin paths are under ``src/main/java/``.
"""

from __future__ import annotations

import requests

from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator

MB = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
# the shape JJB 6.5 writes (jenkins_jobs/modules/project_multibranch.py:137-332)
MULTIBRANCH_XML = (
    f'<?xml version="1.0" encoding="utf-8"?>\n<{MB} plugin="workflow-multibranch">\n  <properties/>\n'
    "  <views>\n    <hudson.model.AllView>\n      <name>All</name>\n    </hudson.model.AllView>\n  </views>\n"
    '  <healthMetrics/>\n  <orphanedItemStrategy class="com.cloudbees.hudson.plugins.folder.computed.'
    'DefaultOrphanedItemStrategy" plugin="cloudbees-folder">\n    <pruneDeadBranches>true</pruneDeadBranches>\n'
    "  </orphanedItemStrategy>\n  <triggers/>\n  <disabled>false</disabled>\n"
    '  <sources class="jenkins.branch.MultiBranchProject$BranchSourceList" plugin="branch-api">\n'
    "    <data>\n      <jenkins.branch.BranchSource>\n"
    '        <source class="jenkins.plugins.git.GitSCMSource" plugin="git">\n'
    "          <id>src</id>\n          <remote>https://example.com/r.git</remote>\n"
    "        </source>\n      </jenkins.branch.BranchSource>\n    </data>\n"
    '    <owner class="' + MB + '" reference="../.."/>\n  </sources>\n'
    '  <factory class="org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory">\n'
    "    <scriptPath>Jenkinsfile</scriptPath>\n  </factory>\n</" + MB + ">\n")
ORG_XML = ('<jenkins.branch.OrganizationFolder plugin="branch-api"><properties/>'
           '<folderViews class="jenkins.branch.OrganizationFolderViewHolder"><owner reference="../.."/>'
           "</folderViews><healthMetrics/><triggers/><disabled>false</disabled><navigators/>"
           "<projectFactories/></jenkins.branch.OrganizationFolder>")
PARAMS = ("<hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
          "<hudson.model.StringParameterDefinition><name>GREETING</name><description>say it</description>"
          "<defaultValue>  hi  </defaultValue><trim>true</trim></hudson.model.StringParameterDefinition>"
          "<hudson.model.BooleanParameterDefinition><name>LOUD</name><defaultValue>false</defaultValue>"
          "</hudson.model.BooleanParameterDefinition>"
          "<hudson.model.ChoiceParameterDefinition><name>COLOUR</name><description/>"
          '<choices class="java.util.Arrays$ArrayList"><a class="string-array"><string>red</string>'
          "<string>blue</string></a></choices></hudson.model.ChoiceParameterDefinition>"
          "</parameterDefinitions></hudson.model.ParametersDefinitionProperty>")


def test_a_multibranch_project_is_stored_and_answers_as_one(emu, admin, h) -> None:
    """WorkflowMultiBranchProject ([wfmb] org/jenkinsci/plugins/workflow/multibranch/
    WorkflowMultiBranchProject.java:65) is a MultiBranchProject, a ComputedFolder ([bapi]
    jenkins/branch/MultiBranchProject.java:129-131): AbstractFolder's exports (healthReport, jobs,
    primaryView, views; [folder] AbstractFolder.java:577-931), ComputedFolder's ``buildable``
    (computed/ComputedFolder.java:576-590), MultiBranchProject's ``sources`` (:409-418, each a
    BranchSource whose SCMSource exports nothing but its class: [bapi] BranchSource.java:48-95,
    [scm-api] jenkins/scm/api/SCMSource.java:74). Never indexed: no jobs, and only the "welcome"
    MultiBranchProjectEmptyView ([bapi] MultiBranchProjectViewHolder.java:91-119)."""
    r = h.post_xml(admin, emu.url + "createItem?name=mb", MULTIBRANCH_XML)
    assert r.status_code == 200 and emu.jobs() == ["mb"]
    stored = admin.get(emu.url + "job/mb/config.xml").text
    assert stored == '<?xml version="1.0" encoding="UTF-8"?>' + MULTIBRANCH_XML.split("\n", 1)[1].rstrip("\n")
    assert h.post_xml(admin, emu.url + "job/mb/config.xml", MULTIBRANCH_XML).status_code == 200
    assert admin.get(emu.url + "job/mb/config.xml").text == stored

    info = admin.get(emu.url + "job/mb/api/json").json()
    assert list(info) == ["_class", "actions", "description", "displayName", "displayNameOrNull",
                          "fullDisplayName", "fullName", "name", "url", "healthReport", "jobs",
                          "primaryView", "views", "buildable", "sources"]
    assert info["_class"] == MB and info["jobs"] == [] and info["buildable"] is True
    assert info["sources"] == [{}]  # depth 0: BranchSource's "source" has visibility 1
    deeper = admin.get(emu.url + "job/mb/api/json?depth=1").json()
    assert deeper["sources"] == [{"source": {"_class": "jenkins.plugins.git.GitSCMSource"}}]
    welcome = {"_class": "jenkins.branch.MultiBranchProjectEmptyView", "name": "welcome",
               "url": emu.url + "job/mb/"}
    assert info["primaryView"] == welcome and info["views"] == [welcome]
    root_entry = admin.get(emu.url + "api/json").json()["jobs"]
    assert root_entry == [{"_class": MB, "name": "mb", "url": emu.url + "job/mb/"}]


def test_a_multibranch_project_takes_no_created_items_and_can_be_disabled(emu, admin, h) -> None:
    """No createItem of its own: the primary view's returns null for a group that is no
    ModifiableItemGroup, 200 and nothing made ([core] hudson/model/AllView.java:95-103);
    ComputedFolder supports makeDisabled ([folder] computed/ComputedFolder.java:361-379)."""
    h.post_xml(admin, emu.url + "createItem?name=mb", MULTIBRANCH_XML)
    r = h.post_xml(admin, emu.url + "job/mb/createItem?name=x", h.project_xml())
    assert r.status_code == 200 and emu.jobs() == ["mb"]
    assert admin.post(emu.url + "job/mb/disable", allow_redirects=False).status_code == 302
    assert admin.get(emu.url + "job/mb/api/json?tree=buildable").json()["buildable"] is False
    assert "<disabled>true</disabled>" in emu.job_config("mb")
    assert admin.get(emu.url + "job/mb/view/welcome/api/json").json()["name"] == "welcome"
    assert admin.get(emu.url + "job/mb/view/Welcome/api/json").status_code == 200  # getView("Welcome")


def test_an_organization_folder_is_stored_and_answers_as_one(emu, admin, h) -> None:
    """OrganizationFolder ([bapi] jenkins/branch/OrganizationFolder.java:118-119) lists the view of
    the uncategorised category, "default" (OrganizationFolderViewHolder.java:89-127, [scm-api]
    SCMCategory.java:132-136), while its primary view is the "welcome" OrganizationFolderEmptyView
    (OrganizationFolder.java:643-657)."""
    assert h.post_xml(admin, emu.url + "createItem?name=org", ORG_XML).status_code == 200
    info = admin.get(emu.url + "job/org/api/json").json()
    assert info["_class"] == "jenkins.branch.OrganizationFolder" and "sources" not in info
    assert info["primaryView"]["_class"] == "jenkins.branch.OrganizationFolderEmptyView"
    assert info["views"] == [{"_class": "jenkins.branch.OrganizationFolderViewHolder$ViewImpl",
                              "name": "default", "url": emu.url + "job/org/view/default/"}]
    assert admin.get(emu.url + "job/org/config.xml").text == '<?xml version="1.0" encoding="UTF-8"?>' + ORG_XML


def test_the_item_types_need_their_plugins(h) -> None:
    with JenkinsEmulator(tokens={h.ADMIN: h.ADMIN_TOKEN}, plugins=[]) as emu:
        r = requests.post(emu.url + "createItem?name=mb", data=MULTIBRANCH_XML.encode(), headers=h.XML,
                          auth=(h.ADMIN, h.ADMIN_TOKEN))
        assert r.status_code == 500 and emu.jobs() == []


def test_default_plugins_include_the_pipeline_stack(emu, admin) -> None:
    plugins = {p["shortName"]: p for p in admin.get(emu.url + "pluginManager/api/json?depth=1").json()["plugins"]}
    for name in ("workflow-multibranch", "branch-api", "workflow-cps", "git", "workflow-job", "cloudbees-folder"):
        assert name in plugins
    # each runs on the core the emulator reports
    assert all(tuple(map(int, p["requiredCoreVersion"].split("."))) <= (2, 492, 3) for p in plugins.values())


def test_a_workflow_job_exports_what_workflow_job_exports(emu, admin, h) -> None:
    """WorkflowJob is a Job but no AbstractProject: no upstream/downstreamProjects, scm or
    labelExpression; its own exports are concurrentBuild, disabled, inQueue, queueItem,
    resumeBlocked ([wfjob] org/jenkinsci/plugins/workflow/job/WorkflowJob.java:295-378), written
    in its own alphabetical block after Job's (stapler Model.java:233-241)."""
    flow = ("<flow-definition plugin=\"workflow-job\"><actions/><description>p</description>"
            "<keepDependencies>false</keepDependencies><properties>"
            "<org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty/>"
            f"{PARAMS}</properties><definition class=\"org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition\" "
            "plugin=\"workflow-cps\"><script>echo 1</script><sandbox>true</sandbox></definition>"
            "<triggers/><disabled>false</disabled></flow-definition>")
    assert h.post_xml(admin, emu.url + "createItem?name=pipe", flow).status_code == 200
    info = admin.get(emu.url + "job/pipe/api/json").json()
    assert info["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    assert list(info)[-5:] == ["concurrentBuild", "disabled", "inQueue", "queueItem", "resumeBlocked"]
    assert info["buildable"] is True and info["inQueue"] is False and info["concurrentBuild"] is False
    for absent in ("upstreamProjects", "downstreamProjects", "scm", "labelExpression"):
        assert absent not in info
    assert [p["_class"] for p in info["property"]] == [
        "org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty",
        "hudson.model.ParametersDefinitionProperty"]
    assert info["property"][1]["parameterDefinitions"][0]["name"] == "GREETING"


def test_parameter_definitions_are_exported_in_property(emu, admin, h) -> None:
    """Job.getAllProperties as ``property`` ([core] Job.java:611-614); ParametersDefinitionProperty
    (visibility 2, ParametersDefinitionProperty.java:75-113); each ParameterDefinition with
    defaultParameterValue, description, name, type (visibility 3, ParameterDefinition.java:99-148,
    277-280), a choice with its choices; a value's ``value`` at visibility 4 (StringParameterValue.java:41)."""
    job = h.project_xml().replace("<properties/>", f"<properties>{PARAMS}</properties>")
    h.post_xml(admin, emu.url + "createItem?name=p", job)
    prop = admin.get(emu.url + "job/p/api/json").json()["property"]
    assert prop == [{"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": [
        {"_class": "hudson.model.StringParameterDefinition",
         "defaultParameterValue": {"_class": "hudson.model.StringParameterValue", "value": "hi"},
         "description": "say it", "name": "GREETING", "type": "StringParameterDefinition"},
        {"_class": "hudson.model.BooleanParameterDefinition",
         "defaultParameterValue": {"_class": "hudson.model.BooleanParameterValue", "value": False},
         "description": None, "name": "LOUD", "type": "BooleanParameterDefinition"},
        {"_class": "hudson.model.ChoiceParameterDefinition",
         "defaultParameterValue": {"_class": "hudson.model.StringParameterValue", "value": "red"},
         "description": "", "name": "COLOUR", "type": "ChoiceParameterDefinition",
         "choices": ["red", "blue"]}]}]
    deep = admin.get(emu.url + "job/p/api/json?depth=1").json()["property"][0]["parameterDefinitions"][0]
    assert deep["defaultParameterValue"] == {"_class": "hudson.model.StringParameterValue",
                                             "name": "GREETING", "value": "hi"}
    plain = h.post_xml(admin, emu.url + "createItem?name=plain", h.project_xml())
    assert plain.status_code == 200 and admin.get(emu.url + "job/plain/api/json").json()["property"] == []


def test_repeated_build_with_parameters_folds_into_the_waiting_item(emu, admin, h) -> None:
    """ParametersDefinitionProperty.buildWithParameters ([core] ParametersDefinitionProperty.java:
    205-229): one value per definition (the request's or the default; undefined parameters
    dropped), Queue.schedule2 folds equal values into the waiting item (Queue.java:612-652): 303
    to that item; other values: a new item, 201. Both point at queue/item/<id>/."""
    job = h.project_xml().replace("<properties/>", f"<properties>{PARAMS}</properties>").replace(
        "<builders/>", "<quietPeriod>60</quietPeriod><builders/>")
    h.post_xml(admin, emu.url + "createItem?name=p", job)
    first = admin.post(emu.url + "job/p/buildWithParameters?COLOUR=blue", allow_redirects=False)
    assert first.status_code == 201
    location = first.headers["Location"]
    assert location.startswith(emu.url + "queue/item/") and location.endswith("/")
    same = admin.post(emu.url + "job/p/buildWithParameters?COLOUR=blue&GREETING=hi&junk=1",
                      allow_redirects=False)
    assert same.status_code == 303 and same.headers["Location"] == location  # defaults equal, junk dropped
    other = admin.post(emu.url + "job/p/buildWithParameters?COLOUR=red", allow_redirects=False)
    assert other.status_code == 201 and other.headers["Location"] != location
    item = admin.get(location + "api/json").json()
    assert item["params"] == "\nGREETING=hi\nLOUD=false\nCOLOUR=blue"
    bad = admin.post(emu.url + "job/p/buildWithParameters?COLOUR=green", allow_redirects=False)
    assert bad.status_code == 500  # IllegalArgumentException: not one of the choices
    admin.post(emu.url + "job/p/disable")
    disabled = admin.post(emu.url + "job/p/buildWithParameters")
    assert disabled.status_code == 409 and "p is not buildable!" in disabled.text


def test_user_api_exports_the_user(emu, admin, h) -> None:
    """User's exports ([core] hudson/model/User.java:268-381): absoluteUrl and fullName at
    visibility 999, id, description, and ``property`` (only to Overall/Administer); an unknown
    user is 404 (Jenkins.getUser creates none, Jenkins.java:3132-3134)."""
    r = admin.get(emu.url + "user/dev/api/json")
    assert r.status_code == 200
    info = r.json()
    assert list(info) == ["_class", "absoluteUrl", "description", "fullName", "id", "property"]
    assert info["_class"] == "hudson.model.User" and info["id"] == "dev" and info["fullName"] == "dev"
    assert info["absoluteUrl"] == emu.url + "user/dev" and info["description"] is None
    assert {"_class": "hudson.search.UserSearchProperty"} in info["property"]
    assert admin.get(emu.url + "user/DEV/api/json").json()["id"] == "dev"  # ids ignore case
    assert admin.get(emu.url + "user/nobody/api/json").status_code == 404
    as_viewer = requests.get(emu.url + "user/admin/api/json", auth=(h.VIEWER, h.VIEWER_PW)).json()
    assert as_viewer["property"] == [] and as_viewer["id"] == "admin"
    nested = admin.get(emu.url + "user/dev/api/json?tree=fullName,property[insensitiveSearch]").json()
    assert {"_class": "hudson.search.UserSearchProperty", "insensitiveSearch": True} in nested["property"]


def test_credential_stores_list_ids_never_secrets(h) -> None:
    """CredentialsStoreAction's domain lists its credentials (``credentials``, visibility 1,
    [cred] com/cloudbees/plugins/credentials/CredentialsStoreAction.java:715-716) as
    CredentialsWrapper: id, displayName, typeName, description, fullName, fingerprint
    (:1038-1190), so at depth 0 each entry is only its class; the secret is never exported."""
    credentials = [{"id": "deploy-key", "type": "sshUserPrivateKey", "description": "deploys"},
                   {"id": "team-token", "folder": "team", "type": "string"}]
    with JenkinsEmulator(tokens={h.ADMIN: h.ADMIN_TOKEN}, credentials=credentials) as emu:
        s = requests.Session()
        s.auth = (h.ADMIN, h.ADMIN_TOKEN)
        h.post_xml(s, emu.url + "createItem?name=team", h.FOLDER_XML)
        system = s.get(emu.url + "credentials/store/system/domain/_/api/json").json()
        assert system["credentials"] == [{"_class": "com.cloudbees.plugins.credentials.CredentialsStoreAction"
                                          "$CredentialsWrapper"}]
        listed = s.get(emu.url + "credentials/store/system/domain/_/api/json?depth=1").json()["credentials"]
        assert listed == [{"_class": "com.cloudbees.plugins.credentials.CredentialsStoreAction$CredentialsWrapper",
                           "description": "deploys", "displayName": "deploy-key (deploys)", "fingerprint": None,
                           "fullName": "system/_/deploy-key", "id": "deploy-key",
                           "typeName": "SSH Username with private key"}]
        folder = s.get(emu.url + "job/team/credentials/store/folder/domain/_/api/json"
                       "?tree=credentials[id,displayName,typeName,description,fullName]").json()
        assert folder["credentials"] == [{
            "_class": "com.cloudbees.plugins.credentials.CredentialsStoreAction$CredentialsWrapper",
            "description": None, "displayName": "team-token", "fullName": "team/folder/_/team-token",
            "id": "team-token", "typeName": "Secret text"}]
        xml = s.get(emu.url + "job/team/credentials/store/folder/domain/_/api/xml?depth=1").text
        assert "<id>team-token</id>" in xml and "secret" not in xml.lower().replace("secret text", "")
