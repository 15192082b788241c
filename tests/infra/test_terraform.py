"""deploy/terraform, checked without AWS: formatted (`terraform fmt -check` where the
binary exists; providers cannot be downloaded here, so no `validate`), and wired
as the serverless deployment needs."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from etl_toolkit.config import Settings
from tests.paths import ROOT

TF = ROOT / "deploy" / "terraform"
SOURCE = {p.name: p.read_text() for p in TF.glob("*.tf")}
ALL = "\n".join(SOURCE.values())


def _block(kind: str, type_: str, name: str) -> str:
    m = re.search(rf'^{kind} "{type_}"(?: "{name}")? \{{\n(.*?)^\}}', ALL, re.S | re.M)
    assert m is not None, f"{kind} {type_} {name}"
    return m.group(1)


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_fmt_is_clean() -> None:
    out = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", str(TF)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_database_password_is_a_sensitive_variable_and_never_a_value() -> None:
    assert "sensitive   = true" in _block("variable", "db_password", "")
    example = (TF / "terraform.tfvars.example").read_text()
    assert not re.search(r"^\s*db_password\s*=", example, re.M)


def test_only_the_lambda_reaches_the_database() -> None:
    db = _block("resource", "aws_db_instance", "main")
    assert "publicly_accessible        = false" in db
    assert "storage_encrypted          = true" in db
    ingress = re.findall(r'resource "aws_vpc_security_group_ingress_rule".*?\n\}', ALL, re.S)
    assert len(ingress) == 1
    assert "referenced_security_group_id = aws_security_group.lambda.id" in ingress[0]
    assert "security_group_id            = aws_security_group.db.id" in ingress[0]
    assert "cidr_ipv4" not in ingress[0]


def test_the_lambda_runs_the_handler_in_the_vpc_with_the_settings_it_needs() -> None:
    fn = _block("resource", "aws_lambda_function", "api")
    handler = re.search(r'handler\s+= "([\w.]+)"', fn)
    assert handler is not None
    module, func = handler.group(1).rsplit(".", 1)
    assert (ROOT / "src" / (module.replace(".", "/") + ".py")).is_file()
    assert re.search(
        rf"^def {func}\(", (ROOT / "src" / (module.replace(".", "/") + ".py")).read_text(), re.M
    )
    assert 'runtime                        = "python3.11"' in fn
    assert "subnet_ids         = aws_subnet.private[*].id" in fn
    env = set(re.findall(r"^\s+([A-Z0-9_]+)\s+=", fn, re.M))
    assert env == {"DATABASE_URL", "AUTH0_DOMAIN", "AUTH0_AUDIENCE", "LOG_LEVEL", "ETL_HOME"}
    assert env <= {f.upper() for f in Settings.model_fields}
    assert "var.auth0_domain" in fn and "var.auth0_audience" in fn


def test_the_http_api_proxies_everything_and_the_url_is_an_output() -> None:
    integ = _block("resource", "aws_apigatewayv2_integration", "lambda")
    assert 'payload_format_version = "2.0"' in integ
    assert 'route_key = "$default"' in _block("resource", "aws_apigatewayv2_route", "default")
    assert "aws_apigatewayv2_stage.default.invoke_url" in _block("output", "api_url", "")
    assert {"versions.tf", "variables.tf", "outputs.tf"} <= set(SOURCE)
