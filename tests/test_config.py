from __future__ import annotations

import pytest

from seedlib.config import Config, ConfigError, Secrets, load_config, redact


def write(tmp_path, text):
    p = tmp_path / "seed.yaml"
    p.write_text(text)
    return str(p)


def test_defaults_put_storage_under_seed_home(tmp_path):
    cfg = load_config({}, {}, None, cwd=str(tmp_path))
    assert cfg.storage == (tmp_path / ".seed" / "data").as_uri()
    assert load_config({}, {"SEED_HOME": str(tmp_path / "h")}).storage == (tmp_path / "h" / "data").as_uri()
    assert cfg.max_file_bytes == Config().max_file_bytes


def test_precedence_flag_over_env_over_yaml_over_default(tmp_path):
    path = write(tmp_path, "max_file_bytes: 100\nmax_files_per_repo: 7\npartitions: 3\n")
    env = {"SEED_MAX_FILE_BYTES": "200", "SEED_MAX_FILES_PER_REPO": "8"}
    cfg = load_config({"max_file_bytes": 300}, env, path)
    assert cfg.max_file_bytes == 300          # flag
    assert cfg.max_files_per_repo == 8        # env beats YAML
    assert cfg.partitions == 3                # YAML beats default
    assert cfg.clone_timeout_s == Config().clone_timeout_s
    # SEED_CONFIG names the YAML file when no file is given
    assert load_config({}, {"SEED_CONFIG": path}).partitions == 3


def test_lists_from_env_and_yaml(tmp_path):
    assert load_config({}, {"SEED_SOURCES": "a, b,,c"}).sources == ("a", "b", "c")
    path = write(tmp_path, "languages: [Python, Go]\n")
    assert load_config({}, {}, path).languages == ("Python", "Go")


@pytest.mark.parametrize("env,key", [
    ({"SEED_MAX_FILE_BYTES": "lots"}, "max_file_bytes (from environment SEED_MAX_FILE_BYTES)"),
    ({"SEED_PARTITIONS": "-1"}, "partitions (from environment SEED_PARTITIONS)"),
    ({"SEED_STORAGE": "relative/path"}, "storage:"),
    ({"SEED_S3_ENDPOINT_URL": "localhost:9000"}, "s3_endpoint_url:"),
])
def test_bad_values_name_the_key(env, key):
    with pytest.raises(ConfigError) as e:
        load_config({}, env)
    assert key in str(e.value)


def test_bad_yaml_names_the_file_and_key(tmp_path):
    with pytest.raises(ConfigError, match=r"max_fil \(from config file .*seed.yaml\): unknown configuration key"):
        load_config({}, {}, write(tmp_path, "max_fil: 3\n"))
    with pytest.raises(ConfigError, match="not valid YAML at line 3"):
        load_config({}, {}, write(tmp_path, "a: 1\nb: [\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config({}, {}, write(tmp_path, "- 1\n"))
    with pytest.raises(ConfigError, match="max_file_bytes .*expected an integer"):
        load_config({}, {}, write(tmp_path, "max_file_bytes: [1]\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config({}, {}, str(tmp_path / "missing.yaml"))


def test_secrets_are_refused_in_yaml_and_never_in_public_dict(tmp_path):
    with pytest.raises(ConfigError, match="github_token .*secrets are not accepted here; set SEED_GITHUB_TOKEN"):
        load_config({}, {}, write(tmp_path, "github_token: ghp_abc\n"))
    token = "ghp_" + "x" * 36
    env = {"SEED_GITHUB_TOKEN": token}
    cfg = load_config({}, env)
    assert token not in repr(cfg.public_dict())
    secrets = Secrets.from_env(env)
    assert secrets.github_token == token
    assert token not in repr(secrets)
    assert redact(f"clone https://x:{token}@github.com failed", secrets) == "clone https://x:***@github.com failed"
    assert Secrets.from_env({"GITHUB_TOKEN": "t1"}).github_token == "t1"
