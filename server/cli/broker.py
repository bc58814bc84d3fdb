"""``broker``: IoTa's ``broker-cli`` over the platform's REST API.

Run it from a checkout with the project's requirements installed (it needs only ``requests``)::

    python -m server.cli.broker [--url URL] [--token TOKEN] [--org ORG] <pd|ld|map|users|devtoken> <command> [flags]

``BROKER_URL`` (default ``http://127.0.0.1:8000``), ``BROKER_TOKEN`` (a JWT or DRF token from ``auth/login/``), or
``BROKER_EMAIL`` and ``BROKER_PASSWORD`` (the tool logs in), and ``BROKER_ORG`` (the organisation ``users`` works
in) set the same from the environment. Output is JSON unless ``--plain``; long listings report their progress on
stderr. An answer of 4xx or 5xx is printed on stderr and the exit status is 1 (2 for a usage error). docs/cli.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import requests

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT = 30.0
# Rows asked for per page of a listing (the platform caps it).
PAGE_SIZE = int(os.environ.get("BROKER_PAGE_SIZE", "500"))


class BrokerError(Exception):
    """The platform refused a request (the message holds its answer), or the tool could not reach it."""


class Client:
    """A session on the platform's ``/api/v1/``, authenticated once."""

    def __init__(self, url: str, token: str | None, email: str | None = None, password: str | None = None) -> None:
        self.base = url.rstrip("/") + "/api/v1/"
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if token is None and email and password:
            token = self.login(email, password)["token"]
        if token:
            # A JWT has three dot-separated parts; anything else is a DRF token.
            scheme = "Bearer" if token.count(".") == 2 else "Token"
            self.session.headers["Authorization"] = f"{scheme} {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = path if path.startswith("http") else self.base + path
        try:
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise BrokerError(f"cannot reach {url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = json.dumps(response.json())
            except ValueError:
                detail = response.text[:500]
            raise BrokerError(f"{method} {url}: HTTP {response.status_code}: {detail}")
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def login(self, email: str, password: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.request("POST", "auth/login/", json={"email": email, "password": password})
        return answer

    def listing(self, path: str, label: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every row of a paginated list, following ``next``; the progress goes to stderr when there is more than
        one page."""
        page = self.get(path, page_size=PAGE_SIZE, **params)
        total, seen = page.get("count", 0), 0
        while True:
            for row in page["results"]:
                seen += 1
                yield row
            if total > len(page["results"]) or page.get("next"):
                print(f"\r{label}: {seen}/{total}", end="", file=sys.stderr, flush=True)
            if not page.get("next"):
                break
            page = self.get(page["next"])
        if seen > len(page["results"]):
            print(file=sys.stderr)


# -- output ----------------------------------------------------------------------------------------------------------


def _without_properties(row: Any, keep: bool) -> Any:
    if isinstance(row, dict) and not keep:
        return {key: value for key, value in row.items() if key != "properties"}
    return row


def emit(value: Any, args: argparse.Namespace) -> None:
    keep = getattr(args, "include_props", True)
    if isinstance(value, list):
        value = [_without_properties(row, keep) for row in value]
    else:
        value = _without_properties(value, keep)
    print(json.dumps(value, indent=2, default=str))


def _last_seen(device: dict[str, Any]) -> str:
    return (device.get("last_seen") or "Never")[:16].ljust(16)


def plain_devices(devices: list[dict[str, Any]]) -> None:
    """IoTa's plain listing: ``uid  name  last seen`` and, for a mapped physical device, ``--> logical uid``."""
    for device in devices:
        line = f"{device['uid']: >6}   {device.get('name', '')!s: <48}   {_last_seen(device)}"
        mapping = device.get("mapping") or {}
        if mapping.get("ld") is not None:
            line += f" --> {mapping['ld']: >6}{'' if mapping.get('is_active', True) else ' (paused)'}"
        elif mapping.get("pd") is not None:
            line += f" <-- {mapping['pd']: >6}{'' if mapping.get('is_active', True) else ' (paused)'}"
        print(line)


def _body(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON object of ``--json`` or ``--file`` (``-`` for stdin)."""
    if args.json is not None:
        text = args.json
    elif args.in_filename == "-":
        text = sys.stdin.read()
    else:
        with open(args.in_filename, encoding="utf-8") as file:
            text = file.read()
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise BrokerError(f"not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BrokerError("the device must be a JSON object")
    return body


# -- commands --------------------------------------------------------------------------------------------------------


def _device_list(client: Client, args: argparse.Namespace, path: str, label: str, **params: Any) -> None:
    devices = list(client.listing(path, label, **params))
    if args.plain:
        plain_devices(devices)
    else:
        emit(devices, args)


def pd_command(client: Client, args: argparse.Namespace) -> None:
    if args.cmd2 == "get":
        emit(client.get(f"pd/{args.p_uid}/"), args)
    elif args.cmd2 == "ls":
        _device_list(client, args, "pd/", "pd ls", source=args.source_name)
    elif args.cmd2 == "lum":
        _device_list(client, args, "pd/", "pd lum", source=args.source_name, unmapped="true")
    elif args.cmd2 == "create":
        emit(client.post("pd/", _body(args)), args)
    elif args.cmd2 == "up":
        body = {key: value for key, value in _body(args).items() if key != "uid"}
        emit(client.patch(f"pd/{args.p_uid}/", body), args)
    elif args.cmd2 == "rm":
        client.delete(f"pd/{args.p_uid}/")
        emit({"deleted": args.p_uid}, args)


def ld_command(client: Client, args: argparse.Namespace) -> None:
    if args.cmd2 == "get":
        emit(client.get(f"ld/{args.l_uid}/"), args)
    elif args.cmd2 == "ls":
        _device_list(client, args, "ld/", "ld ls")
    elif args.cmd2 == "create":
        emit(client.post("ld/", _body(args)), args)
    elif args.cmd2 == "up":
        body = {key: value for key, value in _body(args).items() if key != "uid"}
        emit(client.patch(f"ld/{args.l_uid}/", body), args)
    elif args.cmd2 == "rm":
        client.delete(f"ld/{args.l_uid}/")
        emit({"deleted": args.l_uid}, args)
    elif args.cmd2 == "cpd":
        emit(client.post("ld/from-pd/", {"pd": args.p_uid, "map": args.do_mapping}), args)


def _side(args: argparse.Namespace) -> dict[str, int]:
    return {"pd": args.p_uid} if args.p_uid is not None else {"ld": args.l_uid}


def map_command(client: Client, args: argparse.Namespace) -> None:
    if args.cmd2 == "start":
        emit(client.post("map/", {"pd": args.p_uid, "ld": args.l_uid}), args)
    elif args.cmd2 == "end":
        emit(client.post("map/end/", _side(args)), args)
    elif args.cmd2 == "ls":
        emit(list(client.listing("map/", "map ls", **_side(args))), args)
    elif args.cmd2 == "toggle":
        emit(client.post("map/toggle/", {**_side(args), "is_active": bool(args.enable)}), args)


def _org(args: argparse.Namespace) -> str:
    if not args.org:
        raise BrokerError("name the organisation: --org <slug> or BROKER_ORG")
    return str(args.org)


def _member(client: Client, org: str, user: str) -> dict[str, Any]:
    """The organisation's membership of ``user`` (an e-mail address, username or account slug), active or not."""
    for member in client.listing(f"org/{org}/members/", "users"):
        if user in (member["email"], member["username"], member["user"]):
            return member
    raise BrokerError(f"{user} is not a member of {org}")


# `-a` gives the administrator role; without it a user reads but does not write (IoTa's read-only default).
ADMIN_ROLE = "a1"
READ_ONLY_ROLE = "r1"


def users_command(client: Client, args: argparse.Namespace) -> None:
    if args.cmd2 == "ls":
        emit(list(client.listing(f"org/{_org(args)}/members/", "users ls")), args)
    elif args.cmd2 == "add":
        org = _org(args)
        try:
            client.post("account/", {"email": args.uname, "password": args.passwd})
        except BrokerError as exc:
            if "HTTP 400" not in str(exc):  # an existing account is added as it is
                raise
        role = ADMIN_ROLE if args.admin else READ_ONLY_ROLE
        member = client.post(f"org/{org}/register/", {"user": args.uname, "role": role})
        if args.disabled:
            client.delete(f"org/{org}/members/{member['user']}/")
            member["is_active"] = False
        emit(member, args)
    elif args.cmd2 == "rm":
        org = _org(args)
        member = _member(client, org, args.uname)
        client.delete(f"org/{org}/members/{member['user']}/")
        emit({"removed": args.uname, "org": org}, args)
    elif args.cmd2 == "token":
        users_token(client, args)
    elif args.cmd2 == "chng":
        me = client.get("auth/user-info/")
        slug = me["slug"] if args.uname in (me["email"], me["username"], me["slug"]) else args.uname
        body = {"password": args.passwd}
        if args.old_passwd:
            body["old_password"] = args.old_passwd
        emit(client.post(f"account/{slug}/set_password/", body), args)


def users_token(client: Client, args: argparse.Namespace) -> None:
    """``--refresh``: the signed-in account's tokens are all revoked (``auth/logout/``) and a new one is issued by
    logging in again; ``--disable``/``--enable``: the user's membership of ``--org`` is removed or given back."""
    result: dict[str, Any] = {"user": args.uname}
    if args.disable or args.enable:
        org = _org(args)
        member = _member(client, org, args.uname)
        if args.disable:
            client.delete(f"org/{org}/members/{member['user']}/")
        else:
            client.post(f"org/{org}/register/", {"user": member["user"], "role": member["role"]})
        result.update(org=org, is_active=bool(args.enable))
    if args.refresh:
        if not args.passwd:
            raise BrokerError("--refresh logs in again: give the password with -p")
        client.post("auth/logout/", {})
        tokens = client.login(args.uname, args.passwd)
        result.update(token=tokens["token"], jwt=tokens["jwt"])
    emit(result, args)


def devtoken_command(client: Client, args: argparse.Namespace) -> None:
    """A device's own token (``a-jwt``): get one, or (staff) rotate or revoke the key that signs them."""
    if args.cmd2 == "get":
        emit(client.get(f"device/{args.device}/key/", type="a-jwt"), args)
    elif args.cmd2 == "refresh":
        emit(client.post(f"device/{args.device}/keys/a-jwt/rotate/", {}), args)
    elif args.cmd2 == "disable":
        client.delete(f"device/{args.device}/keys/a-jwt/")
        emit({"device": args.device, "disabled": True}, args)


COMMANDS = {
    "pd": pd_command,
    "ld": ld_command,
    "map": map_command,
    "users": users_command,
    "devtoken": devtoken_command,
}


# -- arguments (IoTa's flags) ----------------------------------------------------------------------------------------


def _listing_flags(parser: argparse.ArgumentParser, source: bool = True) -> None:
    if source:
        parser.add_argument("--source", help="physical device source name", dest="source_name")
    parser.add_argument("--plain", action="store_true", help="plain output, not JSON")
    parser.add_argument("--properties", action="store_true", help="include properties", dest="include_props")


def _body_flags(parser: argparse.ArgumentParser, what: str) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--json", help=f"{what} JSON")
    group.add_argument("--file", help="read JSON from a file, - for stdin", dest="in_filename")


def _device_commands(sub: Any, uid_flag: str, dest: str, what: str) -> None:
    get = sub.add_parser("get", help=f"get a {what}")
    get.add_argument(uid_flag, type=int, dest=dest, required=True)
    get.add_argument("--properties", action="store_true", dest="include_props")
    _listing_flags(sub.add_parser("ls", help=f"list {what}s"), source=dest == "p_uid")
    _body_flags(sub.add_parser("create", help=f"create a {what}"), what)
    up = sub.add_parser("up", help=f"update a {what}")
    up.add_argument(uid_flag, type=int, dest=dest, required=True)
    _body_flags(up, what)
    sub.add_parser("rm", help=f"delete a {what}").add_argument(uid_flag, type=int, dest=dest, required=True)


def _one_side(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--puid", type=int, dest="p_uid", help="physical device uid")
    group.add_argument("--luid", type=int, dest="l_uid", help="logical device uid")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="broker", description="IoTa's broker-cli over the platform's REST API.")
    main.add_argument("--url", default=os.environ.get("BROKER_URL", DEFAULT_URL))
    main.add_argument("--token", default=os.environ.get("BROKER_TOKEN"))
    main.add_argument("--org", default=os.environ.get("BROKER_ORG"), help="organisation slug (users)")
    commands = main.add_subparsers(dest="cmd1", required=True)

    pd = commands.add_parser("pd", help="physical devices").add_subparsers(dest="cmd2", required=True)
    _device_commands(pd, "--puid", "p_uid", "physical device")
    _listing_flags(pd.add_parser("lum", help="list unmapped physical devices"))

    ld = commands.add_parser("ld", help="logical devices").add_subparsers(dest="cmd2", required=True)
    _device_commands(ld, "--luid", "l_uid", "logical device")
    cpd = ld.add_parser("cpd", help="copy a physical device to a new logical device")
    cpd.add_argument("--puid", type=int, dest="p_uid", required=True)
    cpd.add_argument("--map", action="store_true", dest="do_mapping", help="and map it from now")

    mapping = commands.add_parser("map", help="mappings").add_subparsers(dest="cmd2", required=True)
    start = mapping.add_parser("start", help="map a physical device to a logical device from now")
    start.add_argument("--puid", type=int, dest="p_uid", required=True)
    start.add_argument("--luid", type=int, dest="l_uid", required=True)
    _one_side(mapping.add_parser("end", help="end the current mapping"))
    _one_side(mapping.add_parser("ls", help="a device's mapping history"))
    toggle = mapping.add_parser("toggle", help="pause or resume the current mapping")
    _one_side(toggle)
    state = toggle.add_mutually_exclusive_group(required=True)
    state.add_argument("--enable", action="store_true")
    state.add_argument("--disable", action="store_true")

    users = commands.add_parser("users", help="members of --org and their tokens").add_subparsers(
        dest="cmd2", required=True
    )
    users.add_parser("ls", help="list the members")
    add = users.add_parser("add", help="add a user (read-only unless -a)")
    add.add_argument("-u", dest="uname", required=True, help="e-mail address")
    add.add_argument("-p", dest="passwd", required=True, help="password (for a new account)")
    add.add_argument("-d", dest="disabled", action="store_true", help="disabled on creation")
    add.add_argument("-a", dest="admin", action="store_true", help="administrator: may write")
    users.add_parser("rm", help="remove a user").add_argument("-u", dest="uname", required=True)
    token = users.add_parser("token", help="refresh, disable or enable a user's token")
    token.add_argument("-u", dest="uname", required=True)
    token.add_argument("-p", dest="passwd", help="the password, to log in again after --refresh")
    token.add_argument("--refresh", action="store_true")
    enable = token.add_mutually_exclusive_group()
    enable.add_argument("--disable", action="store_true")
    enable.add_argument("--enable", action="store_true")
    chng = users.add_parser("chng", help="change a password")
    chng.add_argument("-u", dest="uname", required=True)
    chng.add_argument("-p", dest="passwd", required=True)
    chng.add_argument("--old", dest="old_passwd", help="the current password (your own account)")

    devtoken = commands.add_parser("devtoken", help="a device's own token (a-jwt)").add_subparsers(
        dest="cmd2", required=True
    )
    for name, text in (("get", "get a token"), ("refresh", "rotate its key (staff)"), ("disable", "revoke (staff)")):
        devtoken.add_parser(name, help=text).add_argument("--device", required=True, help="d-- slug")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        client = Client(
            args.url, args.token, email=os.environ.get("BROKER_EMAIL"), password=os.environ.get("BROKER_PASSWORD")
        )
        COMMANDS[args.cmd1](client, args)
    except BrokerError as exc:
        print(f"broker: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
