"""SFTP mailbox adapter over asyncssh: a pinned host key, bounded operations, uploads that never leave a stray copy."""

from __future__ import annotations

import asyncio
import hashlib
import posixpath
import warnings
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

with warnings.catch_warnings():
    # cryptography flags asyncssh's DSA support as deprecated at import; mailboxes here never use DSA keys.
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    import asyncssh

T = TypeVar("T")


class MailboxError(Exception):
    """A mailbox operation that did not happen; the message names the server and the operation, never a secret."""


class HostKeyMismatch(MailboxError):
    """The server's host key is not the pinned one: the connection was refused before anything was sent."""


class AuthenticationRefused(MailboxError):
    """The server refused the account's password or key."""


class MailboxUnavailable(MailboxError):
    """The server could not be reached, dropped the connection, or did not answer in time."""


class RemoteFileError(MailboxError):
    """The server refused a file operation (no such file or folder, no permission)."""


@dataclass(frozen=True)
class MailboxEndpoint:
    """Where a partner's mailbox is, with the host key it must present (an OpenSSH public key line)."""

    host: str
    port: int
    host_key: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class MailboxCredentials:
    """A mailbox account: a password or a private key (PEM or OpenSSH text). Secrets stay out of repr and logs."""

    username: str
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.password is None) == (self.private_key is None):
            raise ValueError("a mailbox account authenticates with exactly one of a password or a private key")


@dataclass(frozen=True)
class RemoteFile:
    """A file in a remote folder as listed: its name, size in bytes and modification time."""

    name: str
    size: int
    mtime: datetime


@dataclass(frozen=True)
class UploadReceipt:
    """What was put in the mailbox: the final name, the size and SHA-256 of the exact bytes, and when."""

    name: str
    size: int
    sha256: str
    uploaded_at: datetime


class MailboxConnection:
    """An open SFTP session with a partner's mailbox; every operation is bounded by the operation timeout."""

    def __init__(
        self,
        endpoint: MailboxEndpoint,
        connection: asyncssh.SSHClientConnection,
        sftp: asyncssh.SFTPClient,
        operation_timeout: float,
    ) -> None:
        self._endpoint = endpoint
        self._connection = connection
        self._sftp = sftp
        self._timeout = operation_timeout

    async def upload(
        self, folder: str, name: str, content: bytes, *, temporary_name: str | None = None
    ) -> UploadReceipt:
        """Write the bytes under `name` in `folder`, first under `temporary_name` and renamed when one is given (the
        partner never sees a partial file under the final name). A partial copy of ours under either name is
        overwritten with these bytes."""
        final_path = _join(folder, name)
        written_path = _join(folder, temporary_name) if temporary_name else final_path
        await self._bounded(self._write(written_path, content), f"upload {final_path}")
        if temporary_name:
            await self._bounded(self._rename_over(written_path, final_path), f"rename to {final_path}")
        return UploadReceipt(name, len(content), hashlib.sha256(content).hexdigest(), datetime.now(UTC))

    async def list_folder(self, folder: str) -> list[RemoteFile]:
        """The regular files of a remote folder, by name."""
        entries = await self._bounded(self._sftp.readdir(folder or "."), f"list {folder}")
        files = []
        for entry in entries:
            attrs = entry.attrs
            if attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
                continue
            files.append(
                RemoteFile(str(entry.filename), int(attrs.size or 0), datetime.fromtimestamp(attrs.mtime or 0, UTC))
            )
        return sorted(files, key=lambda remote: remote.name)

    async def download(self, folder: str, name: str) -> bytes:
        """The exact bytes of a remote file."""
        return await self._bounded(self._read(_join(folder, name)), f"download {_join(folder, name)}")

    async def delete(self, folder: str, name: str) -> None:
        """Remove a remote file (once its bytes are committed locally)."""
        await self._bounded(self._sftp.remove(_join(folder, name)), f"delete {_join(folder, name)}")

    async def move(self, folder: str, name: str, to_folder: str) -> None:
        """Move a remote file into another folder under the same name, replacing a copy already there."""
        await self._bounded(
            self._rename_over(_join(folder, name), _join(to_folder, name)), f"move {_join(folder, name)}"
        )

    async def _write(self, path: str, content: bytes) -> None:
        async with self._sftp.open(path, "wb") as remote:  # "wb" truncates a partial copy left by an earlier try
            await remote.write(content)

    async def _read(self, path: str) -> bytes:
        async with self._sftp.open(path, "rb") as remote:
            content = await remote.read()
        return content if isinstance(content, bytes) else content.encode()

    async def _rename_over(self, source: str, target: str) -> None:
        """Rename replacing an existing target: POSIX rename where the server offers it, else remove then rename."""
        try:
            await self._sftp.posix_rename(source, target)
            return
        except asyncssh.SFTPOpUnsupported:
            pass
        if await self._sftp.exists(target):
            await self._sftp.remove(target)
        await self._sftp.rename(source, target)

    async def _bounded(self, operation: Coroutine[Any, Any, T], what: str) -> T:
        """Run one operation within the operation timeout. asyncssh finishes a cancelled transfer's pending requests
        before it gives up, so a stalled one is not cancelled: the connection is aborted, which fails them."""
        task = asyncio.ensure_future(operation)
        try:
            done, _ = await asyncio.wait({task}, timeout=self._timeout)
            if not done:
                self._connection.abort()  # a session with a request pending cannot be trusted, nor closed politely
                task.add_done_callback(_retrieve)  # the abort fails its pending requests, which ends it
                raise MailboxUnavailable(f"{self._endpoint}: {what} took longer than {self._timeout:g} s")
            return task.result()
        except asyncssh.SFTPError as error:
            raise RemoteFileError(f"{self._endpoint}: {what} refused: {error.reason}") from error
        except (asyncssh.Error, OSError) as error:
            raise MailboxUnavailable(f"{self._endpoint}: {what} failed: the connection broke ({error})") from error


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Collect the outcome of an abandoned operation, so it is not reported as never retrieved."""
    if not task.cancelled():
        task.exception()


def _join(folder: str, name: str) -> str:
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"{name!r} is not a plain file name")
    return posixpath.join(folder, name) if folder else name


@asynccontextmanager
async def connect(
    endpoint: MailboxEndpoint,
    credentials: MailboxCredentials,
    *,
    connect_timeout: float = 15.0,
    operation_timeout: float = 60.0,
) -> AsyncIterator[MailboxConnection]:
    """Open an SFTP session, refusing any server whose host key is not the pinned one (nothing is sent then)."""
    try:
        pinned = asyncssh.import_public_key(endpoint.host_key)
    except (asyncssh.KeyImportError, ValueError) as error:
        raise HostKeyMismatch(f"{endpoint}: the pinned host key is not an OpenSSH public key line") from error
    keys = (
        [asyncssh.import_private_key(credentials.private_key, credentials.passphrase)]
        if credentials.private_key
        else None
    )
    try:
        async with asyncio.timeout(connect_timeout + 1.0):
            connection = await asyncssh.connect(
                endpoint.host,
                endpoint.port,
                username=credentials.username,
                password=credentials.password,
                client_keys=keys,
                known_hosts=([pinned], [], []),
                agent_path=None,
                config=None,
                preferred_auth="publickey" if keys else "password",
                connect_timeout=connect_timeout,
                login_timeout=connect_timeout,
            )
    except asyncssh.HostKeyNotVerifiable as error:
        raise HostKeyMismatch(
            f"{endpoint}: the server's host key is not the pinned {pinned.get_algorithm()} key "
            f"{pinned.get_fingerprint()}: connection refused, nothing sent"
        ) from error
    except asyncssh.PermissionDenied as error:
        raise AuthenticationRefused(
            f"{endpoint}: the server refused the mailbox account's {'key' if keys else 'password'}"
        ) from error
    except TimeoutError as error:
        raise MailboxUnavailable(f"{endpoint}: no SSH session within {connect_timeout:g} s") from error
    except (asyncssh.Error, OSError) as error:
        raise MailboxUnavailable(f"{endpoint}: cannot connect ({type(error).__name__}: {error})") from error
    try:
        async with connection:
            try:
                async with asyncio.timeout(operation_timeout):
                    sftp = await connection.start_sftp_client()
            except TimeoutError as error:
                raise MailboxUnavailable(f"{endpoint}: no SFTP session within {operation_timeout:g} s") from error
            async with sftp:
                yield MailboxConnection(endpoint, connection, sftp, operation_timeout)
    except asyncssh.Error as error:
        raise MailboxUnavailable(f"{endpoint}: the connection broke ({error})") from error
