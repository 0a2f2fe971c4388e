"""Credential stores of the Jenkins REST emulator: IDs, scopes and types, never secrets.

Two kinds of store, as the credentials plugin and the folders plugin keep them:

* the system store (``SystemCredentialsProvider``, ``/credentials/store/system/``), whose
  GLOBAL-scope credentials every item may bind when its build runs as SYSTEM and whose
  SYSTEM-scope ones no item may ([cred] ``SystemCredentialsProvider.java:425-456``:
  ``not(withScope(SYSTEM))`` for items);
* a folder's store (``FolderCredentialsProvider``, ``/job/<folder>/credentials/store/folder/``),
  GLOBAL scope only, which the items inside the folder (and its subfolders) see
  ([folder] ``FolderCredentialsProvider.java:87,106-141``). Every folder answers with a store,
  empty until a credential is added (``getStore`` makes an empty one, ``:218-235``).

A folder's credentials live in its config.xml, in a ``FolderCredentialsProperty`` under
``<properties>``, as Jenkins keeps them: so posting a folder's config.xml without that property
empties the store (JENKINS-44681: Job DSL and JJB updates lose folder credentials), and deleting
the folder deletes them. The emulator writes only ``<scope>``, ``<id>`` and ``<description>`` in
each credential element; Jenkins also keeps the (encrypted) secret there.

The REST view is ``CredentialsStoreAction``'s exported beans ([cred]
``CredentialsStoreAction.java:391-405`` ``domains``, a map by domain URL name ``_`` for the
global domain; ``:600-716`` a domain's ``credentials`` etc.; ``:1038-1125`` a credential's
``id``, ``displayName``, ``typeName``, ``description``, ``fullName``; its scope is not
exported). A store answers only to a user with Credentials/View; otherwise Stapler finds no
store and answers 404 ([cred] ``ViewCredentialsAction.java:184-192``).

Sources: [cred] jenkinsci/credentials-plugin@d96751bcc06de7da229c321370456ea1cf7ca4ac,
[folder] jenkinsci/cloudbees-folder-plugin@b72f4d5c07097c5b9f5cd9d96adf9801909c5530.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

FOLDER_PROPERTY = ("com.cloudbees.hudson.plugins.folder.properties."
                   "FolderCredentialsProvider_-FolderCredentialsProperty")
DOMAIN = "com.cloudbees.plugins.credentials.domains.Domain"
GLOBAL_DOMAIN = "_"
SCOPES = ("GLOBAL", "SYSTEM")

# credential type (the job runner's names) -> (implementation class, descriptor display name)
TYPES = {
    "file": ("org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl", "Secret file"),
    "string": ("org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl", "Secret text"),
    "usernamePassword": ("com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl",
                         "Username with password"),
    "sshUserPrivateKey": ("com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey",
                          "SSH Username with private key"),
}
TYPE_OF_CLASS = {cls: name for name, (cls, _) in TYPES.items()}

STORE_ACTION_CLASSES = {
    "system": "com.cloudbees.plugins.credentials.SystemCredentialsProvider$UserFacingAction",
    "folder": "com.cloudbees.hudson.plugins.folder.properties.FolderCredentialsProvider"
              "$FolderCredentialsProperty$CredentialsStoreActionImpl",
}
DOMAIN_CLASS = "com.cloudbees.plugins.credentials.CredentialsStoreAction$DomainWrapper"
CREDENTIAL_CLASS = "com.cloudbees.plugins.credentials.CredentialsStoreAction$CredentialsWrapper"


@dataclass(frozen=True)
class StoredCredential:
    """What a store holds of one credential in the emulator: no secret, ever."""

    id: str
    type: str = "file"
    scope: str = "GLOBAL"
    description: str = ""
    domain: str = GLOBAL_DOMAIN

    def __post_init__(self) -> None:
        if not self.id or not self.id.strip():
            raise ValueError("a credential needs an id")
        if self.type not in TYPES:
            raise ValueError(f"credential {self.id}: type {self.type!r} is not one of {sorted(TYPES)}")
        if self.scope not in SCOPES:
            raise ValueError(f"credential {self.id}: scope {self.scope!r} is not one of {list(SCOPES)}")

    @property
    def type_name(self) -> str:
        return TYPES[self.type][1]


def credential_from_dict(entry: dict[str, Any]) -> tuple[str | None, StoredCredential]:
    """``{"id", "folder"?, "type"?, "scope"?, "description"?}`` -> (folder full name or None for
    the system store, credential). ValueError names what is wrong."""
    known = {"id", "folder", "type", "scope", "description"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ValueError(f"credential {entry.get('id')!r}: unknown keys {unknown} (known: {sorted(known)})")
    folder = entry.get("folder")
    folder = folder.strip("/") if isinstance(folder, str) and folder.strip("/") else None
    credential = StoredCredential(str(entry.get("id") or ""), entry.get("type", "file"),
                                  entry.get("scope", "GLOBAL"), entry.get("description", ""))
    if folder is not None and credential.scope != "GLOBAL":
        raise ValueError(f"credential {credential.id}: a folder's store holds GLOBAL scope only "
                         "(FolderCredentialsProvider.java:87)")
    return folder, credential


# --- a folder's store, inside its config.xml --------------------------------------------------


def folder_credentials(root: ET.Element) -> list[StoredCredential]:
    """The credentials of the FolderCredentialsProperty in a folder's config, global domain first."""
    prop = root.find(f"properties/{FOLDER_PROPERTY}")
    found: list[StoredCredential] = []
    for entry in prop.findall("domainCredentialsMap/entry") if prop is not None else []:
        domain_el = entry.find(DOMAIN)
        name = domain_el.findtext("name") if domain_el is not None else None
        domain = name if name else GLOBAL_DOMAIN
        for holder in entry:
            if holder.tag == DOMAIN:
                continue
            for el in holder:
                found.append(StoredCredential(
                    el.findtext("id") or "", TYPE_OF_CLASS.get(el.tag, "file"),
                    (el.findtext("scope") or "GLOBAL").strip(), el.findtext("description") or "", domain))
    return found


def add_to_folder_config(root: ET.Element, credential: StoredCredential) -> None:
    """Add `credential` to the folder config's FolderCredentialsProperty (made when missing), in
    the global domain, replacing one with the same ID (IDs are unique within a store)."""
    properties = root.find("properties")
    if properties is None:
        properties = ET.SubElement(root, "properties")
    prop = properties.find(FOLDER_PROPERTY)
    if prop is None:
        prop = ET.SubElement(properties, FOLDER_PROPERTY)
        mapping = ET.SubElement(prop, "domainCredentialsMap", {"class": "hudson.util.CopyOnWriteMap$Hash"})
    else:
        mapping = prop.find("domainCredentialsMap")
        if mapping is None:
            mapping = ET.SubElement(prop, "domainCredentialsMap", {"class": "hudson.util.CopyOnWriteMap$Hash"})
    entry = next((e for e in mapping.findall("entry")
                  if e.find(DOMAIN) is not None and not e.find(DOMAIN).findtext("name")), None)
    if entry is None:
        entry = ET.SubElement(mapping, "entry")
        ET.SubElement(ET.SubElement(entry, DOMAIN), "specifications")
        ET.SubElement(entry, "java.util.concurrent.CopyOnWriteArrayList")
    holder = next(c for c in entry if c.tag != DOMAIN)
    for el in list(holder):
        if el.findtext("id") == credential.id:
            holder.remove(el)
    el = ET.SubElement(holder, TYPES[credential.type][0])
    ET.SubElement(el, "scope").text = credential.scope
    ET.SubElement(el, "id").text = credential.id
    ET.SubElement(el, "description").text = credential.description


# --- the exported beans -----------------------------------------------------------------------


def store_bean(kind: str, credentials: list[StoredCredential], store_full_name: str, exported: type) -> Any:
    """``CredentialsStoreAction``: ``domains``, a map by domain URL name (the global domain
    always there). `exported` is the emulator's Exported class (no import cycle)."""
    names = sorted({GLOBAL_DOMAIN} | {c.domain for c in credentials})
    return exported(STORE_ACTION_CLASSES[kind], [
        ("domains", 1, lambda: {name: domain_bean(name, credentials, store_full_name, exported)
                                for name in names}),
    ])


def domain_bean(name: str, credentials: list[StoredCredential], store_full_name: str,
                exported: type) -> Any:
    is_global = name == GLOBAL_DOMAIN
    display = "Global" if is_global else name
    full_name = f"{store_full_name}/{name}"
    return exported(DOMAIN_CLASS, [
        ("credentials", 1, lambda: [credential_bean(c, full_name, exported)
                                    for c in credentials if c.domain == name]),
        ("description", 1, "Credentials that should be available everywhere." if is_global else None),
        ("displayName", 1, display),
        # approximate: Jenkins joins the context's and the store's display names
        ("fullDisplayName", 1, f"{store_full_name.replace('/', ' » ')} » {display}"),
        ("fullName", 1, full_name),
        ("global", 1, is_global),
        ("urlName", 1, name),
    ])


def credential_bean(credential: StoredCredential, domain_full_name: str, exported: type) -> Any:
    # CredentialsNameProvider.name: for the plain credential types, the description in brackets
    # after a type-specific name; the emulator keeps no file name or username, so the ID stands in.
    display = credential.id + (f" ({credential.description})" if credential.description else "")
    return exported(CREDENTIAL_CLASS, [
        ("description", 1, credential.description or None),
        ("displayName", 1, display),
        ("fingerprint", 1, None),
        ("fullName", 1, f"{domain_full_name}/{credential.id}"),
        ("id", 1, credential.id),
        ("typeName", 1, credential.type_name),
    ])
