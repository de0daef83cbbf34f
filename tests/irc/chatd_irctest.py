"""An irctest controller for chatd (ours; irctest itself stays outside the
repository).  Use it from an irctest checkout:

    PYTHONPATH=/path/to/chatd/tests/irc CHATD=/path/to/chatd/build/chatd \\
        /usr/bin/python3 -m pytest --controller chatd_irctest ...

or `make irctest IRCTEST=/path/to/irctest` in chatd.  It starts chatd's
chat profile with only an IRC door on the port irctest gives, named
My.Little.Server, with the IRC operator irctest logs in as.  TLS, services and server passwords
are not chatd's yet: those tests are skipped as not implemented."""
import os
from typing import Optional, Type

from irctest.basecontrollers import (
    BaseServerController,
    DirectoryBasedController,
    NotImplementedByController,
)

HERE = os.path.dirname(os.path.abspath(__file__))
CHATD = os.environ.get(
    "CHATD", os.path.join(HERE, "..", "..", "build", "chatd"))


class ChatdController(BaseServerController, DirectoryBasedController):
    software_name = "chatd"
    supported_sasl_mechanisms: set = set()
    supports_sts = False
    extban_mute_char = None

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
    ) -> None:
        if ssl:
            raise NotImplementedByController("TLS")
        if run_services:
            raise NotImplementedByController("Services")
        if password is not None:
            raise NotImplementedByController("PASS (server passwords)")
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        self.proc = self.execute([
            CHATD, "--profile", "chat",
            "--listen", "irc://%s:%d" % (hostname, port),
            "--node-name", "My.Little.Server",
            "--oper", "operuser:operpassword",
            "--log", "quiet",
        ])


def get_irctest_controller_class() -> Type[ChatdController]:
    return ChatdController
