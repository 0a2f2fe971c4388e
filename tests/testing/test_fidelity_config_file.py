"""``GET config.xml`` as the emulator's reported Jenkins (2.492.3, ``DEFAULT_VERSION``) answers it.

Before 2.568, ``AbstractItem.writeConfigDotXml`` copies the stored file
(jenkinsci/jenkins@8bfbe686, tag jenkins-2.492.3, ``core/src/main/java/hudson/model/
AbstractItem.java:881-897``: ``IOUtils.copy(configFile.getFile(), os)``); SECURITY-3744 (commit
037c2c30cd, first in jenkins-2.568) made it an XStream re-serialisation (that case:
``test_fidelity_http.py::test_config_xml_is_reserialised``). The stored file is what
``XMLUtils.safeTransform`` wrote for the posted document (``ItemGroupMixIn.java:294``,
``AbstractItem.java:913-918``, ``jenkins/util/xml/XMLUtils.java:58-100,244-252``), a JDK identity
transform whose output was checked on OpenJDK 17 and 25 (see ``emulator_xmlfile``); what Jenkins
saves itself goes through ``XmlFile.write`` (``hudson/XmlFile.java:203-212``).
"""

from __future__ import annotations

import requests

from jjb_envdelivery.testing.emulator_xmlfile import identity_transform, serves_stored_file
from jjb_envdelivery.testing.jenkins_emulator import DEFAULT_VERSION, JenkinsEmulator

JJB_STYLE = ('<?xml version="1.0" encoding="utf-8"?>\n<project>\n  <actions/>\n'
             "  <description>it's &lt;b&gt; &amp; more&lt;!-- Managed by Jenkins Job Builder --&gt;"
             "</description>\n  <keepDependencies>false</keepDependencies>\n"
             '  <scm class="hudson.scm.NullSCM"/>\n  <builders>\n    <hudson.tasks.Shell>\n'
             "      <command>echo 'hi' &gt; out\nexit 0</command>\n    </hudson.tasks.Shell>\n"
             "  </builders>\n</project>\n")


def test_the_reported_version_serves_the_stored_file() -> None:
    assert DEFAULT_VERSION == "2.492.3" and serves_stored_file(DEFAULT_VERSION)
    assert serves_stored_file("2.567") and not serves_stored_file("2.568")
    assert not serves_stored_file("2.568.1") and not serves_stored_file("2.579")


def test_posted_bytes_come_back_after_the_declaration_jenkins_writes(seeded, admin, h) -> None:
    """createItem and POST config.xml: the body comes back unchanged but for the declaration
    (``<?xml version="1.0" encoding="UTF-8"?>``, no line break after it: the transformer's)."""
    assert h.post_xml(admin, seeded.url + "createItem?name=jjb", JJB_STYLE).status_code == 200
    r = admin.get(seeded.url + "job/jjb/config.xml")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/xml"
    body = JJB_STYLE.split("\n", 1)[1].rstrip("\n")
    assert r.text == '<?xml version="1.0" encoding="UTF-8"?>' + body
    assert seeded.job_config("jjb") == r.text

    changed = JJB_STYLE.replace("exit 0", "exit 1")
    assert h.post_xml(admin, seeded.url + "job/jjb/config.xml", changed).status_code == 200
    assert admin.get(seeded.url + "job/jjb/config.xml").text == (
        '<?xml version="1.0" encoding="UTF-8"?>' + changed.split("\n", 1)[1].rstrip("\n"))
    assert admin.get(seeded.url + "job/jjb/api/json").json()["description"] == (
        "it's <b> & more<!-- Managed by Jenkins Job Builder -->")


def test_the_transform_normalises_what_the_jdk_normalises(seeded, admin, h) -> None:
    """What OpenJDK's identity transform does to a document (checked against ``java``): comments
    and CDATA kept, empty elements collapsed, attributes double-quoted, entities normalised."""
    posted = ("<?xml version='1.0' encoding='UTF-8'?>\n<project>\n<!-- a comment -->"
              "<description>it's &lt;b&gt; \"x\" &apos; &#xd; é</description>\n\n   <builders></builders>"
              "<a  attr='v' b=\"&quot;q&lt;\"/>\n<c>&gt;]]&gt;</c><![CDATA[x<y]]></project>\n\n")
    assert h.post_xml(admin, seeded.url + "job/top/config.xml", posted).status_code == 200
    assert admin.get(seeded.url + "job/top/config.xml").text == (
        '<?xml version="1.0" encoding="UTF-8"?><project>\n<!-- a comment -->'
        "<description>it's &lt;b&gt; \"x\" ' &#13; é</description>\n\n   <builders/>"
        '<a attr="v" b="&quot;q&lt;"/>\n<c>&gt;]]&gt;</c><![CDATA[x<y]]></project>')
    assert identity_transform(b"<r a='\t\n'>\x7f\xc2\x85</r>".replace(b"\x7f", b"&#127;")) == (
        '<?xml version="1.0" encoding="UTF-8"?><r a="  ">&#127;&#133;</r>')


def test_what_jenkins_saves_itself_is_xstream_form(seeded, admin, h) -> None:
    """disable (makeDisabled → save()), submitDescription (setDescription → save()) rewrite the
    file through XmlFile.write; enabling an enabled job changes nothing, so saves nothing
    (ParameterizedJobMixIn.java:517-530)."""
    stored = admin.get(seeded.url + "job/top/config.xml").text
    assert admin.post(seeded.url + "job/top/enable", allow_redirects=False).status_code == 302
    assert admin.get(seeded.url + "job/top/config.xml").text == stored
    assert admin.post(seeded.url + "job/top/disable", allow_redirects=False).status_code == 302
    saved = admin.get(seeded.url + "job/top/config.xml").text
    assert saved.startswith("<?xml version='1.1' encoding='UTF-8'?>\n<project>\n  <actions/>")
    assert "  <disabled>true</disabled>\n" in saved


def test_a_copy_is_the_source_file_byte_for_byte(seeded, admin, h) -> None:
    """createItem?mode=copy copies config.xml (ItemGroupMixIn.java:262-263)."""
    h.post_xml(admin, seeded.url + "job/top/config.xml", JJB_STYLE)
    r = admin.post(seeded.url + "createItem?name=twin&mode=copy&from=top", allow_redirects=False)
    assert r.status_code == 302
    assert admin.get(seeded.url + "job/twin/config.xml").text == admin.get(seeded.url + "job/top/config.xml").text


def test_the_stored_file_survives_a_restart(tmp_path, h) -> None:
    with JenkinsEmulator(tokens={h.ADMIN: h.ADMIN_TOKEN}, state_dir=tmp_path) as emu:
        s = requests.Session()
        s.auth = (h.ADMIN, h.ADMIN_TOKEN)
        h.post_xml(s, emu.url + "createItem?name=jjb", JJB_STYLE)
        before = emu.job_config("jjb")
    with JenkinsEmulator(tokens={h.ADMIN: h.ADMIN_TOKEN}, state_dir=tmp_path) as emu:
        assert emu.job_config("jjb") == before


def test_a_newer_reported_version_reserialises(h) -> None:
    with JenkinsEmulator(tokens={h.ADMIN: h.ADMIN_TOKEN}, version="2.568.1") as emu:
        s = requests.Session()
        s.auth = (h.ADMIN, h.ADMIN_TOKEN)
        h.post_xml(s, emu.url + "createItem?name=jjb", JJB_STYLE)
        text = s.get(emu.url + "job/jjb/config.xml").text
        assert text.startswith('<?xml version="1.1" encoding="UTF-8"?>\n<project>\n  <actions/>\n')
        assert "<command>echo &apos;hi&apos; &gt; out\nexit 0</command>" in text
