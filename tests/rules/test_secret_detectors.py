"""The credential detectors shared by the S rules (``rules/_common/secrets.py``).

The fixtures under ``fixtures/S0*`` test the rules end to end; these tests pin the detectors'
decisions one by one, and check that no detector output (nor any finding of an S rule) ever
contains the value it judged.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from kubeward.model import ProblemKind, ScanResult
from kubeward.rules._common.secrets import (
    Detection,
    NameClass,
    benign_value,
    decode_base64,
    decode_base64_text,
    detect,
    detect_annotation,
    detect_args,
    detect_text,
    detect_value,
    looks_random,
    name_class,
    shannon_entropy,
)
from tests.conftest import scan_paths

CANARY = "canary-s3cr3t-do-not-print"
# Parts of the canary that must never appear in a message (the rule and key names do not
# contain them).
CANARY_PARTS = ("canary", "s3cr3t", "do-not-print")


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def leaks(detection: Detection | None, value: str) -> bool:
    if detection is None:
        return False
    return value in detection.reason or any(part in detection.reason for part in CANARY_PARTS)


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("password", NameClass.PASSWORD),
        ("DB_PASSWORD", NameClass.PASSWORD),
        ("dbPassword", NameClass.PASSWORD),
        ("db.password", NameClass.PASSWORD),
        ("PGPASSWORD", NameClass.PASSWORD),
        ("REDIS_PASS", NameClass.PASSWORD),
        ("mysql-pwd", NameClass.PASSWORD),
        ("requirepass", NameClass.PASSWORD),
        ("javax.net.ssl.keyStorePassword", NameClass.PASSWORD),
        ("api-key", NameClass.STRONG),
        ("apiKey", NameClass.STRONG),
        ("APIKEY", NameClass.STRONG),
        ("aws_secret_access_key", NameClass.STRONG),
        ("GITHUB_TOKEN", NameClass.STRONG),
        ("client_secret", NameClass.STRONG),
        ("SECRET_KEY_BASE", NameClass.STRONG),
        ("SENTRY_DSN", NameClass.STRONG),
        ("connectionString", NameClass.STRONG),
        ("shared_key", NameClass.STRONG),  # fluentd forward, Azure Log Analytics
        ("secret", NameClass.SECRETISH),
        ("tls-secret", NameClass.SECRETISH),
        ("credentials", NameClass.SECRETISH),
        ("key", NameClass.WEAK),
        ("auth", NameClass.WEAK),
        ("cache.key", NameClass.WEAK),
        ("salt", NameClass.WEAK),
    ],
)
def test_sensitive_names(name: str, expected: NameClass) -> None:
    assert name_class(name) is expected


@pytest.mark.parametrize(
    "name",
    [
        # qualifiers: the name describes a credential without holding it
        "DB_PASSWORD_FILE",
        "passwordFile",
        "SECRET_NAME",
        "secretRef",
        "TOKEN_TTL",
        "token.expiration",
        "aws_access_key_id",
        "api-key-header",
        "password-policy",
        "secret-store",
        "token_endpoint",
        "password-stdin",
        "public_key",
        "publicKey",
        # no credential word, or only as part of another word
        "LOG_LEVEL",
        "tokenizer",
        "keyboard_layout",
        "monkey",
        "bypass",
        "authorization_mode",
        # identifiers and fingerprints of keys, caches of tokens
        "SIGNING_KEY_FINGERPRINT",
        "ENCRYPTION_KEY_ALIAS",
        "KMS_KEY_ARN",
        "JWT_KID",
        "secrets-checksum",
        "token_cache",
    ],
)
def test_benign_names(name: str) -> None:
    assert name_class(name) is None


# --- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "",
        "  ",
        "true",
        "False",
        "off",
        "3600",
        "1.2.3",
        "512Mi",
        "1h30m",
        "$(DB_PASSWORD)",
        "${DB_PASSWORD}",
        "${DB_PASSWORD:-changeme}",  # judged by its default
        "${DB_PASSWORD:}",
        "%%env_DB_PASSWORD%%",  # Datadog autodiscovery
        "ENC[AES256_GCM,data:Tr7o=,iv:1=,tag:2=,type:str]",  # SOPS
        "$DB_PASSWORD",
        "$(cat /run/secrets/db)",
        "{{ .Values.db.password }}",
        "ENC(G6N718UuyPE5bHyWKyuLQSm02auQPUtm)",
        "vault:secret/data/shop#password",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
        "/run/secrets/db/password",
        "/data",
        "./secrets/db.txt",
        "https://vault.shop.svc:8200/v1/secret/data/db",
        "postgres://db:5432/shop",
        "changeme",
        "CHANGE_ME",
        "changeit",
        "REPLACE_ME",
        "<password>",
        "xxx",
        "***",
        "your-api-key",
        "token-goes-here",
        # CI/CD replacement tokens, interpolation and code that reads the value
        "${{ secrets.DB_PASSWORD }}",  # GitHub Actions
        "#{DbPassword}#",  # Azure DevOps replace tokens, Octopus
        "#{ENV['DB_PASSWORD']}",  # fluentd (Ruby)
        "__DB_PASSWORD__",
        "os.environ['DB_PASSWORD']",
        'os.getenv("DB_PASSWORD")',
        "os.environ[",  # the rest of a KEY=value line, cut at the quote
        "get_secret()",
        # digests
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ],
)
def test_benign_values(value: str) -> None:
    assert benign_value(value)
    assert detect("DB_PASSWORD", value) is None


@pytest.mark.parametrize(
    "value",
    [
        *("hunter2", "admin", CANARY, "postgres", "p@ss w0rd", "s3cr3t-$alt", "x1"),
        "/9fGkQ2mZ7vLwXk9pQ2mA",  # base64 starts with "/" one time in 64: not a path
        "${DB_PASSWORD:" + CANARY + "}",  # the default is a literal
        "hunter(2)",  # parentheses, not a call that reads the value
        "sha256:" + CANARY,  # not a digest
    ],
)
def test_any_other_value_of_a_password_name_is_a_credential(value: str) -> None:
    found = detect("DB_PASSWORD", value)
    assert found is not None
    assert "DB_PASSWORD" in found.reason
    assert not leaks(found, value)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("AKIAIOSFODNN7EXAMPLE", "AWS access key ID"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n", "private key"),
        ("-----BEGIN EC PRIVATE KEY-----", "private key"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzaG9wIn0.c2lnbmF0dXJlMTIz", "JSON Web Token"),
        ("ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "GitHub token"),
        ("glpat-Ab12Cd34Ef56Gh78Ij90", "GitLab token"),
        ("xoxb-123456789012-abcdefghijkl", "Slack token"),
        ("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "Slack"),
        ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "Google API key"),
        ("sk_live_0123456789abcdefghijklmn", "Stripe"),
        ("npm_0123456789abcdefghijklmnopqrstuvwxyz", "npm token"),
        ("Authorization: Bearer abcdef0123456789", "Authorization header"),
        ("postgres://app:" + CANARY + "@db:5432/app", "connection string"),
        ("redis://:" + CANARY + "@redis-master:6379/0", "connection string"),  # no user name
        ("Server=db;Database=shop;User Id=sa;Password=" + CANARY + ";", "connection string"),
        ("machine github.com login bot password " + CANARY, ".netrc"),
        ("xapp-1-A0123456789-2048123456789-0a1b2c3d4e5f60718293a4b5c6d7e8f9", "Slack token"),
        ("xoxe-1-My0xLTIwNDgxMjM0NTY3ODktMjA0ODEy", "Slack token"),
        ("xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAxMi0x", "Slack token"),
        ("sk_test_51Hf0aBCdEfGhIjKlMnOpQrStUv", "Stripe"),
        ("rk_prod_51Hf0aBCdEfGhIjKlMnOpQrStUv", "Stripe"),
        (
            '{"keys": [{"kty": "EC", "crv": "P-256", "d": "jpsQnnGQmL-YBIffH1136cspYG6"}]}',
            "JSON Web Key",
        ),
        ('{"kty": "oct", "alg": "HS256", "k": "GawgguFyGrWKav7AX4VKUg"}', "JSON Web Key"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization header"),  # no digit
    ],
)
def test_value_shapes(value: str, kind: str) -> None:
    found = detect_value(value)
    assert found is not None and kind in found.reason
    assert not leaks(found, value)
    # the shape wins whatever the name
    assert detect("HARMLESS", value) == found


@pytest.mark.parametrize(
    "value",
    [
        "postgres://app:${DB_PASSWORD}@db:5432/app",  # a reference, not a password
        "https://user@example.com/path",
        "Authorization: Bearer $(TOKEN)",
        "authorization basic authentication is required",  # prose
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----",
        "AKIA-not-a-key-at-all",
        "Authorization: Basic Authentication",  # prose again
        "xapp-frontend-service-deployment",  # a name that starts like a Slack app token
        # public JWKs: RSA (n, e) and EC (x, y) parameters only
        '{"keys": [{"kty": "RSA", "kid": "2011-04-29", "n": "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0t",'
        ' "e": "AQAB"}, {"kty": "EC", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV7",'
        ' "y": "x_FEzRu9m36HLN_tue659LNpXW6pCySt"}]}',
    ],
)
def test_not_credential_shapes(value: str) -> None:
    assert detect_value(value) is None


def test_shape_is_contained_or_whole() -> None:
    whole = detect_value("AKIAIOSFODNN7EXAMPLE")
    inside = detect_value("uploads use AKIAIOSFODNN7EXAMPLE")
    assert whole is not None and "looks like" in whole.reason
    assert inside is not None and "contains" in inside.reason


# --- entropy ----------------------------------------------------------------------------------


def test_shannon_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaaaaaa") == 0.0
    assert shannon_entropy("abab") == pytest.approx(1.0)
    assert shannon_entropy("0123456789abcdef") == pytest.approx(4.0)


@pytest.mark.parametrize(
    "value",
    [
        "Zx8Qm2Lr5Tn9Vb3Kp7Wd1Hy4",  # base62, 24 chars
        "9b1f6c7d2a4e8f0b3c5d7e9f1a2b4c6d",  # hex: entropy >= 3.0 is enough
        "Y2FuYXJ5LXMzY3IzdC1kby1ub3QtcHJpbnQ=",  # base64 (of text that is not user:password)
        "a8F!k2@Lm9#qZ4$w",
    ],
)
def test_random_looking(value: str) -> None:
    assert looks_random(value)
    found = detect("key", value)
    assert found is not None and "random" in found.reason
    assert not leaks(found, value)


@pytest.mark.parametrize(
    "value",
    [
        "Zx8Qm2Lr5Tn9Vb3",  # too short (15)
        "aaaaaaaaaaaaaaaaaaaa",  # no entropy
        "abababababababab12",  # low entropy
        "ConfigurationManagerFactory",  # a word
        "created_at.updated_at-x",  # words and separators
        "123e4567-e89b-12d3-a456-426614174000",  # a UUID
        "auth.internal.example.com",  # a host name
        "one two three four five six",  # prose
    ],
)
def test_not_random_looking(value: str) -> None:
    assert not looks_random(value)
    assert detect("key", value) is None


def test_weak_names_need_randomness_strong_names_do_not() -> None:
    assert detect("cache.key", "user-id") is None
    assert detect("sort_key", "created_at") is None
    assert detect("auth", "enabled") is None
    assert detect("signing.key", "k3y") is not None
    assert detect("api_key", "k3y") is not None


# --- text: assignments inside values ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("a=1\nspring.datasource.password=" + CANARY + "\n", "spring.datasource.password"),
        ("LOG_LEVEL=info\nexport STRIPE_API_KEY='" + CANARY + "'\n", "STRIPE_API_KEY"),
        ("[db]\nhost = db\npassword = " + CANARY + "\n", "password"),
        ("db:\n  host: db\n  password: " + CANARY + "  # comment\n", "password"),
        ("db:\n  - password: '" + CANARY + "'\n", "password"),
        ('{"db": {"host": "db", "password": "' + CANARY + '"}}', "password"),
        ("<server><password>" + CANARY + "</password></server>", "password"),
        ("-Xmx1g -Djavax.net.ssl.trustStorePassword=" + CANARY, "javax.net.ssl.trustStorePassword"),
        ("https://api.example.com/hook?channel=ops&token=" + CANARY, "token"),
        ("kubectl set env deploy/api DB_PASSWORD=" + CANARY, "DB_PASSWORD"),
        # name value directives: Fluent Bit, fluentd, .properties with a space
        (
            "[OUTPUT]\n    Name es\n    HTTP_User elastic\n    HTTP_Passwd " + CANARY + "\n",
            "HTTP_Passwd",
        ),
        ('<match **>\n  user elastic\n  password "' + CANARY + '"\n</match>\n', "password"),
        ("db.url jdbc:postgresql://db/app\ndb.password " + CANARY + "\n", "db.password"),
        # an assignment in the value of another
        ("kubectl create secret generic db --from-literal=password=" + CANARY, "password"),
    ],
)
def test_assignments_in_text(text: str, name: str) -> None:
    found = detect("config", text)
    assert found is not None
    assert repr(name) in found.reason
    assert not leaks(found, CANARY)


@pytest.mark.parametrize(
    "text",
    [
        "a=1\nb=2\n",
        "spring.datasource.password=${DB_PASSWORD}\ntoken.validity=3600\n",
        "db:\n  password: ${DB_PASSWORD}\n  passwordFile: /run/secrets/db\n  key: |\n    x\n",
        '{"auth": {"enabled": true, "secretRef": {"name": "api"}}, "password": null}',
        'export DB_PASSWORD="{{ .Data.password }}"',
        "if [ $password == $expected ]; then exit 0; fi",
        "Rotate the password every 90 days: the token is issued by Vault.",
        # name value directives whose value is a reference, or a word, or that are not two words
        "[OUTPUT]\n    HTTP_User elastic\n    HTTP_Passwd ${ES_PASSWORD}\n",
        "<match **>\n  password \"#{ENV['ES_PASSWORD']}\"\n</match>\n",
        "Password Policy\nToken Rotation\n",
        "PasswordAuthentication no\nHostKey /etc/ssh/ssh_host_ed25519_key\n",
        "password   required   pam_unix.so\n",
        "password_encryption scram-sha-256\nssl_key_file server.key\n",
        # code that reads the credential
        "SECRET_KEY = os.environ['SECRET_KEY']\nDB = {'PASSWORD': os.getenv('DB_PASSWORD')}\n",
        "[auth]\ntoken_cache = redis\n",
    ],
)
def test_texts_without_credentials(text: str) -> None:
    assert detect("config", text) is None


def test_a_settings_list_is_judged_by_its_settings_not_its_name() -> None:
    # a connection string without a password is no credential, whatever the key is called
    assert detect("connection-string", "Server=db;Database=shop;Integrated Security=true;") is None
    assert detect("DB_DSN", "host=db;port=5432;dbname=shop") is None
    found = detect("connection-string", "Server=db;Database=shop;Password=" + CANARY + ";")
    assert found is not None and not leaks(found, CANARY)
    azure = "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=" + CANARY
    found = detect("AZURE_STORAGE_CONNECTION_STRING", azure)
    assert found is not None and "'AccountKey'" in found.reason
    # a password is a password even with "=" and ";" in it
    assert detect("DB_PASSWORD", "a=b;c=d") is not None


def test_base64_user_password_under_a_weak_name() -> None:
    # docker config's "auth" and npm's _auth: base64 of user:password, even with low entropy
    docker = '{"auths": {"registry.example.com": {"auth": "' + b64("admin:admin1") + '"}}}'
    found = detect(".dockerconfigjson", docker)
    assert found is not None and "'auth'" in found.reason
    assert detect("auth", b64("ci-bot:" + CANARY)) is not None
    assert detect("npmrc", "//nexus.example.com/:_auth=" + b64("ci:" + CANARY)) is not None
    # ... but not of a user with a reference for a password
    assert detect("auth", b64("ci:${TOKEN}")) is None


def test_a_multi_line_value_is_judged_by_its_content_not_its_name() -> None:
    assert detect("credentials.yaml", "user: shop\nregion: eu\n") is None
    assert detect("credentials.yaml", "user: shop\npassword: " + CANARY + "\n") is not None


# --- base64 -----------------------------------------------------------------------------------


def test_decode_base64() -> None:
    assert decode_base64(b64("hello")) == b"hello"
    assert decode_base64("aGVsbG8") == b"hello"  # padding optional
    assert decode_base64("_-8") == b"\xff\xef"  # URL-safe alphabet
    assert decode_base64("aGVs\nbG8=") == b"hello"  # wrapped
    assert decode_base64("not base64!") is None
    assert decode_base64("a") is None


def test_decode_base64_text() -> None:
    assert decode_base64_text(b64("password=" + CANARY)) == "password=" + CANARY
    assert decode_base64_text(b64("short")) is None  # under 16 characters of base64
    assert decode_base64_text(b64(bytes(range(256)))) is None  # binary
    assert decode_base64_text(b64("\x01\x02control characters here")) is None
    assert decode_base64_text("ThisIsJustAVeryLongIdentifier0") is None


@pytest.mark.parametrize(
    ("encoded", "kind"),
    [
        (b64("password=" + CANARY + "\n"), "'password'"),
        (b64("-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----\n"), "key"),
        (b64("AKIAIOSFODNN7EXAMPLE"), "AWS"),
        ("blob: " + b64("api_key=" + CANARY), "'api_key'"),  # a base64 token inside text
    ],
)
def test_base64_decoded_detection(encoded: str, kind: str) -> None:
    found = detect("blob", encoded)
    assert found is not None
    assert found.reason.startswith("once base64-decoded")
    assert kind in found.reason
    assert not leaks(found, CANARY) and encoded not in found.reason


def test_harmless_base64_is_not_a_credential() -> None:
    assert detect("blob", b64("hello world, nothing to see here")) is None
    assert detect("blob", b64(bytes(range(48)))) is None


def test_detect_text_does_not_decode_again() -> None:
    assert detect_text(b64("password=" + CANARY)) is None
    assert detect_text(CANARY, name="password") is not None


# --- annotations and command lines ------------------------------------------------------------


def test_annotations() -> None:
    assert detect_annotation("example.com/db-password", CANARY) is not None
    # names of Secrets and paths in secret managers, in annotations of ingress-nginx and Vault
    assert detect_annotation("nginx.ingress.kubernetes.io/auth-secret", "basic-auth") is None
    assert detect_annotation("nginx.ingress.kubernetes.io/auth-tls-secret", "shop/ca") is None
    assert detect_annotation("vault.hashicorp.com/agent-inject-secret-db", "db/creds/app") is None
    # ... but not a value that no object name looks like
    assert detect_annotation("example.com/tls-secret", "Xy7+Kq9/Lm2=") is not None
    # Helm's digests
    assert detect_annotation("checksum/secret", "2c26b46b68ffc68ff99b453c1d30413413422d70") is None


@pytest.mark.parametrize(
    ("items", "indexes"),
    [
        (["app", "--password=" + CANARY], [1]),
        (["app", "--token", CANARY, "--verbose"], [2]),
        (["redis-server", "--requirepass", CANARY], [2]),
        (["app", "--db-password", "hunter2"], [2]),
        (["sh", "-c", "redis-cli --pass " + CANARY + " ping"], [2]),
        (["sh", "-c", "export DB_PASSWORD=" + CANARY + "; exec app"], [2]),
        (["migrate", "--url=mysql://root:" + CANARY + "@db/shop"], [1]),
        (["app", "--password=" + CANARY, "--token", CANARY], [1, 3]),
        (["app", b64("api_key=" + CANARY)], [1]),
        # short options of well-known programs, as argv and in scripts
        (["sh", "-c", "mysql -h db -uroot -p" + CANARY + " -e 'select 1'"], [2]),
        (["mysqladmin", "ping", "-p" + CANARY], [2]),
        (["redis-cli", "-a", CANARY, "ping"], [2]),
        (["sh", "-c", "redis-cli -h redis -a '" + CANARY + "' ping"], [2]),
        (["/usr/bin/curl", "-fsS", "-u", "admin:" + CANARY, "http://api/health"], [3]),
        (["curl", "--user=admin:" + CANARY, "http://api/health"], [1]),
        (["sh", "-c", "mongosh --quiet -u admin -p " + CANARY + " --eval 'db.ping()'"], [2]),
    ],
)
def test_command_lines(items: list[str], indexes: list[int]) -> None:
    found = list(detect_args(items))
    assert [index for index, _ in found] == indexes
    assert not any(leaks(detection, CANARY) for _, detection in found)


@pytest.mark.parametrize(
    "items",
    [
        ["app", "--password=$(DB_PASSWORD)", "--token", "$(TOKEN)"],
        ["app", "--password", "--verbose"],  # a flag, not a value
        ["app", "--token"],  # nothing after it
        ["app", "--token-file=/var/run/secrets/token", "--password-file", "/run/secrets/pw"],
        ["app", "--tls-secret=ingress-tls", "--secret-name", "api"],
        ["app", "--token-ttl", "1h", "--enable-token-auth=true", "--password-min-length=12"],
        ["app", "-p", "8080", "-u", "shop", "-a", "hunter2"],  # short options are not judged
        ["docker", "login", "--password-stdin", "registry.example.com"],
        ["sh", "-c", 'mysqladmin ping --password="$MYSQL_ROOT_PASSWORD"'],
        ["sh", "-c", "PGPASSWORD=$(cat /run/secrets/pw) psql -h db"],
        ["app", 42, None, {"not": "a string"}],
        ["sh", "-c", 'mysqladmin ping -uroot -p"${MYSQL_ROOT_PASSWORD}"'],
        ["sh", "-c", "mysql -p$(cat /run/secrets/pw) -e 'select 1'"],
        ["mysql", "-p", "shop"],  # -p alone prompts; "shop" is the database
        ["sh", "-c", "redis-cli -a $REDIS_PASSWORD ping"],
        ["curl", "-u", "admin:", "http://api"],  # curl prompts for the password
        ["curl", "-u", "$USER:$PASSWORD", "http://api"],
        ["docker", "run", "-u", "1000:1000", "-p", "8080:80", "app"],  # other programs' options
        ["sh", "-c", "curl -s http://api; app -p " + CANARY],  # the separator ends curl's options
    ],
)
def test_command_lines_without_credentials(items: list[object]) -> None:
    assert list(detect_args(items)) == []


# --- no output contains the value -------------------------------------------------------------

_PLANTED = [
    ("DB_PASSWORD", CANARY),
    ("api-key", CANARY),
    ("key", "Zx8Qm2Lr5Tn9Vb3Kp7Wd1Hy4" + CANARY),
    ("notes", "see postgres://u:" + CANARY + "@db/x"),
    ("config.properties", "db.password=" + CANARY),
    ("config.json", '{"token": "' + CANARY + '"}'),
    ("blob", b64("secret_key=" + CANARY)),
    ("JAVA_OPTS", "-Dapp.password=" + CANARY),
    ("fluent-bit.conf", "[OUTPUT]\n    HTTP_Passwd " + CANARY + "\n"),
    ("script", "mysql -uroot -p" + CANARY + " -e 'select 1'"),
    ("script", "curl -u admin:" + CANARY + " http://api"),
]


@pytest.mark.parametrize(("name", "value"), _PLANTED)
def test_no_detector_output_contains_the_value(name: str, value: str) -> None:
    outputs = [detect(name, value), detect_annotation(f"example.com/{name}", value)]
    outputs += [found for _, found in detect_args(["app", f"--{name}", value])]
    outputs += [found for _, found in detect_args(["app", value])]
    assert any(found is not None for found in outputs)
    for found in outputs:
        assert not leaks(found, value), found


def test_no_finding_of_an_s_rule_contains_a_planted_value() -> None:
    fixtures = sorted((Path(__file__).parent / "fixtures").glob("S0*/*.yaml"))
    assert fixtures
    result = scan_paths(fixtures, select=("S",))
    assert result.findings
    for finding in result.findings:
        assert not any(part in finding.message for part in CANARY_PARTS), finding.message
        assert "hunter2" not in finding.message, finding.message


# --- robustness -------------------------------------------------------------------------------

MALFORMED = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: odd-config
  namespace: shop
  labels: {owner: helm, name: x, status: deployed, version: "1"}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"kind": "Deployment", "spec": []}'
    example.com/nested: '{"a": {"b": {"c": [1, 2, {"password": null}]}}}'
data:
  number: 42
  flag: true
  nothing: null
  list: [1, 2]
  1: one
binaryData:
  bad: "%%%"
  number: 7
  empty: ""
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: odd-release
  namespace: shop
  labels: {OWNER: TILLER}
data:
  release: H4sIAAAAAAAC/wMAAAAAAAAAAAAA
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: odd-data
  namespace: shop
data: [not, a, mapping]
binaryData: just a string
---
apiVersion: v1
kind: Secret
metadata:
  name: odd-secret
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"kind": "Secret", "data": "x", "stringData": [1]}'
data: [1, 2]
stringData: "text"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: odd-workload
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"kind": "Pod", "spec": {"containers": [1, {"env": "x", "args": [null, 3]}]}}'
spec:
  template:
    metadata:
      annotations: {}
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:2.0
          command: "not a list"
          args: [1, null, {"a": "b"}, "--token"]
          envFrom: [null, {"secretRef": "db"}, {"secretRef": {}}]
          livenessProbe: {exec: {command: "x"}}
          readinessProbe: {exec: []}
          lifecycle: {postStart: {exec: {command: [null, "--password"]}}, preStop: []}
        - name: sidecar
          image: ghcr.io/acme/sidecar:2.0
          env: [null, {"name": "X", "valueFrom": {"secretKeyRef": "db"}}, {"valueFrom": {"secretKeyRef": {}}}]
"""


def test_malformed_objects_do_not_crash_the_rules(scan_text: Callable[..., ScanResult]) -> None:
    result = scan_text(MALFORMED, select=("S",))
    crashes = [e.message for e in result.errors if e.kind is ProblemKind.RULE]
    assert crashes == []
    for finding in result.findings:
        assert not any(part in finding.message for part in CANARY_PARTS)
