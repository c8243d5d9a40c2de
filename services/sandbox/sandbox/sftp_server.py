"""A local SFTP mailbox server on 127.0.0.1 for tests and the demo: one chrooted root folder per account."""

from __future__ import annotations

import hmac
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

with warnings.catch_warnings():
    # cryptography flags asyncssh's DSA support as deprecated at import; this server never uses DSA keys.
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    import asyncssh

DEFAULT_FOLDERS = ("inbound", "outbound")


@dataclass
class MailboxAccount:
    """One account (an organization's mailbox): its password and/or authorized public key, and its root folder."""

    username: str
    root: Path
    password: str | None = field(default=None, repr=False)
    public_key: asyncssh.SSHKey | None = None


class _AccountAuth(asyncssh.SSHServer):
    """Password or public-key authentication against the server's accounts; every other method is refused."""

    def __init__(self, accounts: dict[str, MailboxAccount]) -> None:
        self._accounts = accounts

    def begin_auth(self, username: str) -> bool:
        return True  # always ask for a credential, also for unknown accounts (no account probing)

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        account = self._accounts.get(username)
        if account is None or account.password is None:
            return False
        return hmac.compare_digest(account.password.encode(), password.encode())

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        account = self._accounts.get(username)
        if account is None or account.public_key is None:
            return False
        return bool(account.public_key.public_data == key.public_data)


class MailboxServer:
    """An in-process asyncssh SFTP server bound to 127.0.0.1 on a free port.

    Each account sees only its own root folder (chroot). The host key is generated into `state_dir` (a temporary
    folder when none is given), so a client pins `host_key_line` as it would a partner's published key. A subclass
    of asyncssh.SFTPServer given as `file_server` can slow down or break file operations for fault tests.
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        file_server: type[asyncssh.SFTPServer] = asyncssh.SFTPServer,
    ) -> None:
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="claimflow-sftp-")
            state_dir = Path(self._temporary.name)
        self.state_dir = state_dir
        self.host = host
        self._file_server = file_server
        self.accounts: dict[str, MailboxAccount] = {}
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        key_path = state_dir / "host_key"
        self._host_key.write_private_key(str(key_path))
        key_path.chmod(0o600)
        self._acceptor: asyncssh.SSHAcceptor | None = None

    @property
    def host_key_line(self) -> str:
        """The server's public host key as an OpenSSH line, the value a client pins."""
        return self._host_key.export_public_key().decode().strip()

    @property
    def port(self) -> int:
        """The port the server listens on (once started)."""
        if self._acceptor is None:
            raise RuntimeError("the SFTP server is not started")
        return self._acceptor.get_port()

    def add_account(
        self,
        username: str,
        *,
        password: str | None = None,
        public_key: str | None = None,
        folders: Iterable[str] = DEFAULT_FOLDERS,
    ) -> MailboxAccount:
        """Create an account with its root folder and the given sub-folders (relative paths)."""
        if not username or not username.replace("-", "").replace("_", "").isalnum():
            raise ValueError("an account name is letters, digits, '-' and '_'")
        root = self.state_dir / "mailboxes" / username
        for folder in folders:
            (root / folder).mkdir(parents=True, exist_ok=True)
        root.mkdir(parents=True, exist_ok=True)
        key = asyncssh.import_public_key(public_key) if public_key else None
        account = MailboxAccount(username, root, password, key)
        self.accounts[username] = account
        return account

    def folder(self, username: str, folder: str = "") -> Path:
        """The local path of an account's folder, for a test or the clearinghouse simulator to read and write."""
        root = self.accounts[username].root
        return root / folder if folder else root

    async def start(self) -> MailboxServer:
        """Listen on a free port of 127.0.0.1."""
        accounts, file_server = self.accounts, self._file_server
        self._acceptor = await asyncssh.listen(
            self.host,
            0,
            server_host_keys=[self._host_key],
            server_factory=lambda: _AccountAuth(accounts),
            sftp_factory=lambda channel: file_server(
                channel, chroot=str(accounts[channel.get_extra_info("username")].root).encode()
            ),
            allow_scp=False,
            config=None,
        )
        return self

    async def stop(self) -> None:
        """Stop listening and close every session; remove the temporary folder if this server made it."""
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    async def __aenter__(self) -> MailboxServer:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()
