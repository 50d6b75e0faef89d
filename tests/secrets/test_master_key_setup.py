"""The master key at `forge init`, and rotation's limits by source."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forge.cli.main import app as cli
from forge.config import ConfigError, Settings
from forge.crypto.keyring import EMBEDDED_FILE, new_master_key
from forge.db import Database
from forge.secrets import masterkey


def test_init_generates_the_embedded_key_once_owner_only(
    tmp_path: Path, database: Database, database_url: str
) -> None:
    env = {"FORGE_DATA_DIR": str(tmp_path), "FORGE_DATABASE_URL": database_url}
    first = CliRunner().invoke(cli, ["init", "--json"], env=env)
    assert first.exit_code == 0, first.stderr
    keyring_file = tmp_path / EMBEDDED_FILE
    assert stat.S_IMODE(keyring_file.stat().st_mode) == 0o600
    content = keyring_file.read_bytes()
    again = CliRunner().invoke(cli, ["init", "--json"], env=env)
    assert again.exit_code == 0, again.stderr
    assert keyring_file.read_bytes() == content
    # Another key for the same database is refused, with one line naming the variable.
    wrong = base64.b64encode(new_master_key()).decode()
    refused = CliRunner().invoke(cli, ["init"], env={**env, "FORGE_MASTER_KEY": wrong})
    assert refused.exit_code == 2
    assert refused.stderr.startswith("forge: bad configuration: FORGE_MASTER_KEY: wrong master key")


def test_a_key_from_the_environment_cannot_be_rotated_in_place(
    settings: Settings, database: Database
) -> None:
    from_env = settings.model_copy(update={"master_key": new_master_key()})
    keyring = masterkey.open_keyring(from_env, database)
    with pytest.raises(ConfigError) as caught:
        masterkey.rotate(database, keyring)
    assert caught.value.variable == "FORGE_MASTER_KEY"
    assert "FORGE_MASTER_KEY_FILE" in str(caught.value)


def test_a_keyring_file_with_a_bare_key_is_accepted_and_rotates_into_a_keyring(
    tmp_path: Path, settings: Settings, database: Database
) -> None:
    bare = tmp_path / "master.key"
    bare.write_text(base64.b64encode(new_master_key()).decode() + "\n")
    keyring = masterkey.open_keyring(
        settings.model_copy(update={"master_key_file": bare}), database
    )
    first = keyring.current_id
    result = masterkey.rotate(database, keyring)
    assert bare.read_text().startswith("{")
    reread = masterkey.configured_keyring(settings.model_copy(update={"master_key_file": bare}))
    assert reread is not None
    assert reread.current_id == result.key_id and set(reread.keys) == {first, result.key_id}
