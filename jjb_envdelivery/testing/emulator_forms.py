"""Endpoints of the REST emulator beyond python-jenkins' set: what the Jenkins UI's forms and other
clients (jenkinsapi, curl scripts) call. Each function takes the request's ``Dispatch``
(``jenkins_emulator``) and answers as the cited Jenkins source does.

Sources: [core] jenkinsci/jenkins@8bfbe686 (tag jenkins-2.492.3), ``core/src/main/java/``;
[folder] jenkinsci/cloudbees-folder-plugin@b72f4d5c, ``src/main/java/``; [stapler]
jenkinsci/stapler@135bbbc8, ``core/src/main/java/org/kohsuke/stapler/``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from .emulator_http import Response, _html, failure, method_not_allowed, not_found, oops, redirect
from .emulator_params import definitions, request_values
from .emulator_state import (
    LIST_VIEW,
    VIEW_TYPES,
    Failure,
    Group,
    Item,
    State,
    View,
    canonical_name,
    check_good_name,
    default_view_config,
    list_view_names,
    raw_encode,
    relative_name,
    serialise,
    set_child_text,
    set_list_view_names,
)

if TYPE_CHECKING:
    from .jenkins_emulator import Dispatch


# --- names -----------------------------------------------------------------------------------


def resolve_item(state: State, path: str | None, context: Group) -> Item | None:
    """Jenkins.getItem(pathName, context) ([core] jenkins/model/Jenkins.java:3018-3060): "/a/b"
    by full name; otherwise step by step from the group `context` ("..", "." allowed, empty steps
    skipped as StringTokenizer does), falling back to the full name."""
    if path is None:
        return None
    if path.startswith("/"):
        return state.find(path)
    ctx: Group | None = context
    for token in (t for t in path.split("/") if t):
        if token == "..":
            ctx = ctx.parent if isinstance(ctx, Item) else None
            if ctx is None:
                break
            continue
        if token == ".":
            continue
        if ctx is state.root or (isinstance(ctx, Item) and ctx.is_folder):
            ctx = ctx.get_item(token)
            if ctx is None:
                break
        else:
            return None
    if isinstance(ctx, Item):
        return ctx
    return state.find(path)


# --- users -----------------------------------------------------------------------------------


def user(d: Dispatch, user_id: str, rest: list[str]) -> Response:
    """``/user/<id>/``: Jenkins.getUser finds an existing user only (no creation via URL unless
    hudson.model.User.allowUserCreationViaUrl, [core] Jenkins.java:3132-3134, User.java:160), ids
    compared case-insensitively (the default IdStrategy); the emulator's users are the configured
    ones. Unknown: 404."""
    known = [*d.emu.users, *(n for n in d.emu.tokens if n not in d.emu.users)]
    found = next((n for n in known if n.lower() == user_id.lower()), None)
    if found is None:
        raise not_found()
    if rest == ["api", "json"]:
        return d.json(d.beans.user(found, "administer" in d.perms))
    if rest == []:
        return d.page(found)
    raise not_found()


# --- items -----------------------------------------------------------------------------------


def submit_description(d: Dispatch, item: Item) -> Response:
    """AbstractItem.doSubmitDescription ([core] hudson/model/AbstractItem.java:653-683):
    @RequirePOST, Item/Configure, ``setDescription(req.getParameter("description"))``, which saves
    (:221-225), then 302 to ".". Without the parameter the description becomes null (no element)."""
    if d.method != "POST":
        raise method_not_allowed()
    d.need("configure")
    description = d.params.get("description")
    root = item.root()
    existing = root.find("description")
    if description is None:
        if existing is not None:
            root.remove(existing)
    elif existing is not None:
        existing.text = description
    else:
        set_child_text(root, "description", description, after="actions")
    item.save(root)
    return redirect(d.base + d.beans.path_of(item))


def queued_parameters(d: Dispatch, item: Item) -> tuple[str, dict[str, str]]:
    """The ParametersAction buildWithParameters queues (emulator_params): the text
    Queue.Item.getParams shows, and the values by name."""
    try:
        values = [(p, v) for p, v in request_values(definitions(item.root()), d.params) if v is not None]
    except ValueError:
        raise oops() from None  # IllegalArgumentException: "Illegal choice for parameter …"
    text = "".join("\n" + p.short_description(v) for p, v in values)
    return text, {p.name: str(v).lower() if isinstance(v, bool) else v for p, v in values}


def _move_destinations(d: Dispatch, item: Item) -> list[Group]:
    """StandardHandler.validDestinations ([folder] com/cloudbees/hudson/plugins/folder/relocate/
    StandardHandler.java:138-197): the root unless another item there has the name; every plain
    Folder (a DirectlyModifiableTopLevelItemGroup; a computed folder is not) where the user may
    create items, without an item of that name, that is neither the item nor inside it; the
    item's own parent (a no-op move)."""
    state = d.emu.state
    may_create = "create" in d.perms

    def permitted(group: Group) -> bool:
        return group is item.parent or may_create

    out: list[Group] = []
    at_root = state.root.get_item(item.name)
    if (permitted(state.root) and at_root is None) or at_root is item:
        out.append(state.root)
    for group in state.all_items():
        if not group.is_folder or group.type.computed or not permitted(group) or group is item:
            continue
        if item.parent is group:
            out.append(group)
        if group.get_item(item.name) is not None:
            continue
        above = group.parent
        while isinstance(above, Item) and above is not item:
            above = above.parent
        if above is item:
            continue
        out.append(group)
    return out


def move(d: Dispatch, item: Item, rest: list[str]) -> Response:
    """cloudbees-folder's RelocationAction (``move``, [folder] relocate/RelocationAction.java:49-179;
    not on items of a computed folder, :173-176) with DefaultRelocationUI.doMove (``move/move``,
    DefaultRelocationUI.java:100-130): @RequirePOST, Item/Move; ``destination`` is "/" + the
    target's full name ("/" the root); unknown or the current parent: forwardToPreviousPage (302
    to the Referer, else "."); else Items.move and 302 to the item's new URL
    (StandardHandler.java:69-82; [core] hudson/model/Items.java:564-585)."""
    if rest == []:
        return d.page(f"Move {item.full_name}")
    if rest != ["move"]:
        raise not_found()
    if d.method != "POST":
        raise method_not_allowed()
    d.need("move")
    destination = d.params.get("destination")
    target = next((g for g in _move_destinations(d, item) if "/" + g.full_name == destination), None)
    if target is None or target is item.parent:
        # [stapler] ResponseImpl.forwardToPreviousPage: the Referer, else "." from .../move/move
        back = d.headers.get("Referer") or d.base + d.beans.path_of(item) + "move/"
        return redirect(back, write=False)
    d.emu.state.move_item(item, target)
    d.beans.ancestors.pop(id(item), None)
    return redirect(d.base + d.beans.path_of(target) + "job/" + raw_encode(item.name) + "/")


# --- views -----------------------------------------------------------------------------------


def check_job_name(d: Dispatch, owner: Group) -> Response:
    """View.doCheckJobName ([core] hudson/model/View.java:837-862), reached on the root or a folder
    through its primary view: Item/Create on the owner; empty is fine; else checkGoodName's
    message, or Hudson.JobAlreadyExists for a name in use. A FormValidation answers text/html:
    ``<div/>`` when OK, ``<div class="error">`` + Util.escape(message) + ``</div>`` otherwise
    ([core] hudson/util/FormValidation.java:149-151, 164, 271-285, 612-621; Util.java:1023-1057),
    with sandboxing CSP headers."""
    d.need("create")
    headers = [(h, "sandbox; default-src 'none';")
               for h in ("Content-Security-Policy", "X-WebKit-CSP", "X-Content-Security-Policy")]
    value = d.params.get("value")
    message = None
    if value:  # Util.fixEmpty: null or "" is OK
        try:
            name = check_good_name(value)
        except Failure as exc:
            message = str(exc)
        else:
            if owner.get_item(name) is not None:
                message = f"A job already exists with the name ‘{name}’"
    html = "<div/>" if message is None else f'<div class="error">{_util_escape(message)}</div>'
    return Response(200, html.encode("utf-8"), "text/html;charset=utf-8", headers)


def _util_escape(text: str) -> str:
    """hudson.Util.escape."""
    out = []
    for i, ch in enumerate(text):
        if ch == " ":
            out.append("&nbsp;" if text[i + 1:i + 2] == " " else " ")
        else:
            out.append({"\n": "<br>", "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;",
                        "'": "&#039;"}.get(ch, ch))
    return "".join(out)


def list_view_job(d: Dispatch, owner: Group, view: View, add: bool) -> Response:
    """ListView.doAddJobToView / doRemoveJobFromView ([core] hudson/model/ListView.java:392-436):
    @RequirePOST, View/Configure; ``name`` required; resolved in the owner's group, else as a
    path relative to it (resolveName); the view keeps the name relative to its group in jobNames.
    Adding an item the view already shows changes nothing. 200, empty."""
    if d.method != "POST":
        raise method_not_allowed()
    d.need("view_configure")
    name = d.params.get("name")
    if name is None:
        raise failure("Query parameter 'name' is required")
    item = owner.get_item(name)
    if item is None:
        try:
            item = d.emu.state.find(canonical_name(owner.full_name, name))
        except ValueError:
            raise oops() from None  # Items.getCanonicalName: IllegalArgumentException
    if item is None:
        raise failure("Query parameter 'name' does not correspond to a known item" if add else
                      "Query parameter 'name' does not correspond to a known and readable item")
    names = list_view_names(view)
    relative = relative_name(item.full_name, owner.full_name)
    if add:
        if item in d.beans.view_items(owner, view):
            return Response(200)
        set_list_view_names(view, [*names, relative])
        return Response(200, write=True)
    kept = [n for n in names if n.lower() != relative.lower()]
    if kept != names:
        set_list_view_names(view, kept)
    return Response(200, write=kept != names)


# The columns a new ListView starts with (ListViewColumn.createDefaultInitialColumnList; core's
# own, in their ordinals)
_LIST_VIEW_COLUMNS = ("StatusColumn", "WeatherColumn", "JobColumn", "LastSuccessColumn",
                      "LastFailureColumn", "LastDurationColumn", "BuildButtonColumn")


def _new_view_config(view_type_root: str, name: str, form: dict) -> str:
    """A view made by its descriptor from the submitted form (Descriptor.newInstance binds the
    @DataBoundConstructor and setters: ListView(name), setIncludeRegex, setRecurse, setJobNames,
    [core] ListView.java:117-140, 332-335, 505-518), as XStream would write it (unconfirmed detail)."""
    if view_type_root != LIST_VIEW:
        return default_view_config(VIEW_TYPES[view_type_root], name)
    root = ET.fromstring(default_view_config(VIEW_TYPES[LIST_VIEW], name))
    names = ET.SubElement(root, "jobNames")
    ET.SubElement(names, "comparator", {"class": "java.lang.String$CaseInsensitiveComparator"})
    job_names = form.get("jobNames")
    for job in sorted(set(job_names), key=str.lower) if isinstance(job_names, list) else []:
        ET.SubElement(names, "string").text = str(job)
    ET.SubElement(root, "jobFilters")
    columns = ET.SubElement(root, "columns")
    for column in _LIST_VIEW_COLUMNS:
        ET.SubElement(columns, f"hudson.views.{column}")
    regex = form.get("includeRegex")
    if isinstance(regex, str) and regex:
        ET.SubElement(root, "includeRegex").text = regex
    ET.SubElement(root, "recurse").text = "true" if form.get("recurse") is True else "false"
    return serialise(root)


def create_view_of_mode(d: Dispatch, owner: Group, name: str, mode: str) -> Response:
    """View.create with ``mode`` ([core] hudson/model/View.java:1144-1223): ``copy`` copies the view
    ``from`` of this owner under the new name; otherwise ``mode`` names the view class
    (ViewDescriptor id), unknown: 400 ``No view type ‘X’ is known``; the view is made from the
    submitted form, the ``json`` parameter (StaplerRequest.getSubmittedForm, [stapler]
    RequestImpl.java:1273-1331: none is 400 "This page expects a form submission", unparsable
    JSON a ServletException, 500), with the ``name`` parameter as its name. Then 302 to the new
    view's ``configure`` page."""
    state = d.emu.state
    if mode == "copy":
        source_name = d.params.get("from")
        source = owner.get_view(source_name) if source_name is not None else None
        if source is None:
            raise failure("Specify which view to copy" if not source_name else f"No such view: {source_name}")
        root = source.root()
        set_child_text(root, "name", name)
        view = View(name, source.type, serialise(root))
    else:
        vtype = next((t for t in VIEW_TYPES.values()
                      if t.cls == mode and t.creatable and state.installed(t.plugin)), None)
        if vtype is None:
            raise failure(f"No view type ‘{mode}’ is known")
        submitted = d.params.get("json")
        if not submitted:
            return Response(400, _html("Bad Request", "This page expects a form submission"),
                            "text/html;charset=utf-8")
        try:
            form = json.loads(submitted)
        except ValueError:
            raise oops() from None
        view = View(name, vtype, _new_view_config(vtype.root, name, form if isinstance(form, dict) else {}))
    state.add_view(owner, view)
    return redirect(d.beans.view_url(owner, view) + "configure")
