"""``dockpy login`` and ``dockpy logout``: registry credentials for push and pull."""

from __future__ import annotations

import getpass
import sys


def register(commands) -> None:
    login = commands.add_parser("login", help="log in to a registry")
    login.add_argument("registry", metavar="REGISTRY", help="registry host[:port]")
    login.add_argument("-u", "--username", help="user name")
    login.add_argument("-p", "--password", help="password (prefer --password-stdin)")
    login.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    login.add_argument("--tls-verify", default="true", choices=("true", "false"),
                       help="verify the registry's TLS certificate (false also allows plain http)")
    login.set_defaults(handler=run_login)
    logout = commands.add_parser("logout", help="forget a registry's credentials")
    logout.add_argument("registry", metavar="REGISTRY", help="registry host[:port]")
    logout.set_defaults(handler=run_logout)


def run_login(args) -> int:
    from dockpy.errors import InvalidInputError
    from dockpy.image.registry.auth import Credentials, store_credentials
    from dockpy.image.registry.client import RegistryClient

    username = args.username or input("Username: ")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = args.password if args.password is not None else getpass.getpass("Password: ")
    if not username or not password:
        raise InvalidInputError("login needs a user name and a password")
    credentials = Credentials(username, password)
    with RegistryClient(args.registry, tls_verify=args.tls_verify == "true", credentials=credentials) as client:
        client.check()
    path = store_credentials(args.registry, credentials)
    print(f"Login Succeeded (credentials saved in {path})")
    return 0


def run_logout(args) -> int:
    from dockpy.image.registry.auth import remove_credentials

    if remove_credentials(args.registry):
        print(f"Removed login credentials for {args.registry}")
    else:
        print(f"Not logged in to {args.registry}")
    return 0
