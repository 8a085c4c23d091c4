"""Result storage from the command line: an S3 URL without boto3 installed names the extra to install; a bad
storage URL is a usage error naming what is allowed; nothing is sent anywhere."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_lean_install import BLOCK, cli, lean

NO_BOTO = BLOCK.replace("BLOCKED = (", "BLOCKED = ('boto3', 'botocore', ")  # a lean install: no [s3] extra


def test_s3_storage_without_boto3_names_the_extra(tmp_path: Path) -> None:
    args = ["worker", "--store", str(tmp_path / "j.db"), "--storage", "s3://videos/x", "--until-idle"]
    done = lean(NO_BOTO + cli(args), tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "pip install 'vidgate[s3]'" in done.stderr and "Traceback" not in done.stderr


def test_an_unknown_storage_scheme_is_refused(tmp_path: Path) -> None:
    done = lean(cli(["worker", "--store", str(tmp_path / "j.db"), "--storage", "gs://b/x", "--until-idle"]), tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "unknown scheme 'gs'" in done.stderr and "s3://BUCKET/PREFIX" in done.stderr
