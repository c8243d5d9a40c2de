"""The SFTP mailbox adapter against a real in-process SFTP server on 127.0.0.1 (sandbox.sftp_server)."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import uuid
from pathlib import Path

import asyncssh
import pytest
from sandbox.sftp_server import MailboxServer
from submission.mailbox.naming import outbound_name, temporary_name
from submission.mailbox.profiles import profile
from submission.mailbox.sftp import (
    AuthenticationRefused,
    HostKeyMismatch,
    MailboxCredentials,
    MailboxEndpoint,
    MailboxUnavailable,
    RemoteFileError,
    connect,
)

PASSWORD = "mailbox-test-password"  # the conftest account's password (MAILBOX_PASSWORD)
ORGANIZATION = uuid.UUID("5d1f0c2e-8a47-4b1e-9c33-0f6a2b7d4e10")
INTERCHANGE = (
    b"ISA*00*          *00*          *ZZ*CLAIMFLOW      *ZZ*STEDITEST      *261208*0215*^*00501*000000042*0*T*:~"
)


def endpoint(server: MailboxServer) -> MailboxEndpoint:
    return MailboxEndpoint("127.0.0.1", server.port, server.host_key_line)


def account(password: str = PASSWORD) -> MailboxCredentials:
    return MailboxCredentials("lakeside", password=password)


async def test_an_upload_under_a_temporary_name_leaves_only_the_final_name(mailbox_server: MailboxServer) -> None:
    stedi = profile("stedi")
    name = outbound_name(stedi, organization=ORGANIZATION, control_number=42)
    async with connect(endpoint(mailbox_server), account()) as mailbox:
        receipt = await mailbox.upload(
            stedi.upload_folder, name, INTERCHANGE, temporary_name=temporary_name(stedi, name)
        )
    folder = mailbox_server.folder("lakeside", stedi.upload_folder)
    assert [path.name for path in folder.iterdir()] == [name]
    assert (folder / name).read_bytes() == INTERCHANGE
    assert (receipt.name, receipt.size, receipt.sha256) == (
        name,
        len(INTERCHANGE),
        hashlib.sha256(INTERCHANGE).hexdigest(),
    )


async def test_an_upload_without_rename_appears_under_its_own_name(mailbox_server: MailboxServer) -> None:
    office_ally = profile("office_ally")
    name = outbound_name(office_ally, organization=ORGANIZATION, control_number=42)
    async with connect(endpoint(mailbox_server), account()) as mailbox:
        await mailbox.upload(office_ally.upload_folder, name, INTERCHANGE)
    folder = mailbox_server.folder("lakeside", office_ally.upload_folder)
    assert [path.name for path in folder.iterdir()] == [name]
    assert (folder / name).read_bytes() == INTERCHANGE


@pytest.mark.parametrize("partner", ["stedi", "office_ally"])
async def test_a_partial_file_of_ours_is_overwritten_with_the_same_bytes_under_the_same_name(
    mailbox_server: MailboxServer, partner: str
) -> None:
    chosen = profile(partner)
    name = outbound_name(chosen, organization=ORGANIZATION, control_number=42)
    temporary = temporary_name(chosen, name) if chosen.upload_with_temporary_name else None
    folder = mailbox_server.folder("lakeside", chosen.upload_folder)
    (folder / (temporary or name)).write_bytes(INTERCHANGE[:40])  # a connection dropped mid-upload left this
    if temporary:
        (folder / name).write_bytes(INTERCHANGE[:20])  # and an earlier try got as far as the rename with less
    async with connect(endpoint(mailbox_server), account()) as mailbox:
        await mailbox.upload(chosen.upload_folder, name, INTERCHANGE, temporary_name=temporary)
    assert [path.name for path in folder.iterdir()] == [name]
    assert (folder / name).read_bytes() == INTERCHANGE


async def test_a_host_key_other_than_the_pinned_one_refuses_to_connect_and_sends_nothing(
    mailbox_server: MailboxServer,
) -> None:
    other_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    impostor = MailboxEndpoint("127.0.0.1", mailbox_server.port, other_key)
    reached_the_body = False
    with pytest.raises(HostKeyMismatch, match="not the pinned ssh-ed25519 key"):
        async with connect(impostor, account()) as mailbox:
            reached_the_body = True
            await mailbox.upload("to-stedi", "CF_x.x12", INTERCHANGE)
    assert not reached_the_body
    assert list(mailbox_server.folder("lakeside", "to-stedi").iterdir()) == []


async def test_a_pinned_host_key_that_is_not_a_public_key_line_refuses_to_connect(
    mailbox_server: MailboxServer,
) -> None:
    with pytest.raises(HostKeyMismatch, match="not an OpenSSH public key line"):
        async with connect(MailboxEndpoint("127.0.0.1", mailbox_server.port, "not a key"), account()):
            pass


async def test_a_wrong_password_is_refused_as_such_without_echoing_it(mailbox_server: MailboxServer) -> None:
    with pytest.raises(AuthenticationRefused, match="refused the mailbox account's password") as refused:
        async with connect(endpoint(mailbox_server), account("not-the-password")):
            pass
    assert "not-the-password" not in str(refused.value)


async def test_an_unknown_account_is_refused_like_a_wrong_password(mailbox_server: MailboxServer) -> None:
    with pytest.raises(AuthenticationRefused):
        async with connect(endpoint(mailbox_server), MailboxCredentials("nobody", password=PASSWORD)):
            pass


async def test_an_account_authenticates_with_its_private_key(mailbox_server: MailboxServer) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    mailbox_server.add_account("keyed", public_key=key.export_public_key().decode(), folders=("upload",))
    credentials = MailboxCredentials("keyed", private_key=key.export_private_key().decode())
    async with connect(endpoint(mailbox_server), credentials) as mailbox:
        await mailbox.upload("upload", "CF_key.x12", INTERCHANGE)
    assert (mailbox_server.folder("keyed", "upload") / "CF_key.x12").read_bytes() == INTERCHANGE


async def test_a_private_key_the_server_does_not_know_is_refused(mailbox_server: MailboxServer) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    with pytest.raises(AuthenticationRefused, match="key"):
        async with connect(endpoint(mailbox_server), MailboxCredentials("lakeside", private_key=stranger)):
            pass


async def test_a_closed_port_is_reported_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    with pytest.raises(MailboxUnavailable, match="cannot connect"):
        async with connect(MailboxEndpoint("127.0.0.1", port, key), account(), connect_timeout=5):
            pass


def test_credentials_keep_their_secrets_out_of_their_repr() -> None:
    shown = repr(MailboxCredentials("lakeside", password="s3cret")) + repr(
        MailboxCredentials("lakeside", private_key="-----BEGIN KEY-----", passphrase="phrase")
    )
    assert "s3cret" not in shown
    assert "BEGIN KEY" not in shown
    assert "phrase" not in shown


def test_an_account_takes_exactly_one_of_a_password_or_a_key() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        MailboxCredentials("lakeside")
    with pytest.raises(ValueError, match="exactly one"):
        MailboxCredentials("lakeside", password="p", private_key="k")


async def test_answers_are_listed_downloaded_moved_and_deleted(mailbox_server: MailboxServer) -> None:
    answers = mailbox_server.folder("lakeside", "download")
    (answers / "b_999.x12").write_bytes(b"ISA*999 answer~")
    (answers / "a_277.x12").write_bytes(b"ISA*277 answer, longer~")
    async with connect(endpoint(mailbox_server), account()) as mailbox:
        listed = await mailbox.list_folder("download")
        assert [(remote.name, remote.size) for remote in listed] == [("a_277.x12", 23), ("b_999.x12", 15)]
        assert all(remote.mtime.tzinfo is not None for remote in listed)  # the archive subfolder is not a file
        assert await mailbox.download("download", "b_999.x12") == b"ISA*999 answer~"
        await mailbox.move("download", "a_277.x12", "download/archive")
        await mailbox.delete("download", "b_999.x12")
        assert await mailbox.list_folder("download") == []
        assert [remote.name for remote in await mailbox.list_folder("download/archive")] == ["a_277.x12"]
    assert (answers / "archive" / "a_277.x12").read_bytes() == b"ISA*277 answer, longer~"


async def test_a_file_listed_twice_downloads_the_same_bytes(mailbox_server: MailboxServer) -> None:
    content = b"ISA*00*...*835 payment~" * 50
    (mailbox_server.folder("lakeside", "outbound") / "era.835").write_bytes(content)
    async with connect(endpoint(mailbox_server), account()) as mailbox:
        first = [await mailbox.download("outbound", remote.name) for remote in await mailbox.list_folder("outbound")]
        second = [await mailbox.download("outbound", remote.name) for remote in await mailbox.list_folder("outbound")]
    digests = {hashlib.sha256(copy).hexdigest() for copy in first + second}
    assert digests == {hashlib.sha256(content).hexdigest()}


async def test_a_missing_remote_file_is_a_remote_file_error(mailbox_server: MailboxServer) -> None:
    async with connect(endpoint(mailbox_server), account()) as mailbox:
        with pytest.raises(RemoteFileError, match=r"download outbound/absent\.999"):
            await mailbox.download("outbound", "absent.999")


async def test_an_account_sees_only_its_own_root_folder(mailbox_server: MailboxServer) -> None:
    mailbox_server.add_account("other", password="other-password", folders=("outbound",))
    (mailbox_server.folder("other", "outbound") / "theirs.999").write_bytes(b"ISA*theirs~")
    async with connect(endpoint(mailbox_server), account()) as mailbox:
        with pytest.raises(RemoteFileError):
            await mailbox.download("../other/outbound", "theirs.999")
        assert await mailbox.list_folder("outbound") == []


async def test_a_name_with_a_folder_in_it_is_refused_before_anything_is_sent(mailbox_server: MailboxServer) -> None:
    async with connect(endpoint(mailbox_server), account()) as mailbox:
        with pytest.raises(ValueError, match="not a plain file name"):
            await mailbox.upload("inbound", "../outbound/x.837", INTERCHANGE)
    assert list(mailbox_server.folder("lakeside", "outbound").iterdir()) == []


async def test_a_server_that_never_answers_the_handshake_is_unavailable_after_the_connect_timeout() -> None:
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    try:
        with pytest.raises(MailboxUnavailable, match=r"within 0\.5 s"):
            async with connect(MailboxEndpoint("127.0.0.1", port, key), account(), connect_timeout=0.5):
                pass
    finally:
        silent.close()
        await silent.wait_closed()


class StalledWrites(asyncssh.SFTPServer):
    """A server whose writes never complete, as a partner's stalled disk or a stuck connection looks."""

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        await asyncio.Event().wait()
        return 0


async def test_an_operation_that_does_not_finish_is_unavailable_after_the_operation_timeout(tmp_path: Path) -> None:
    server = MailboxServer(tmp_path, file_server=StalledWrites)
    server.add_account("lakeside", password=PASSWORD)
    async with server, connect(endpoint(server), account(), operation_timeout=0.5) as mailbox:
        with pytest.raises(MailboxUnavailable, match=r"upload inbound/CF_x\.837 took longer than 0\.5 s"):
            await mailbox.upload("inbound", "CF_x.837", INTERCHANGE)
