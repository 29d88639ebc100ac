from __future__ import annotations

import pytest

from seedlib.config import Config, ConfigError, Secrets, load_config, redact


def write(tmp_path, text):
    p = tmp_path / "seed.yaml"
    p.write_text(text)
    return str(p)


def test_defaults_put_storage_under_seed_home(tmp_path):
    cfg = load_config({}, {}, None, cwd=str(tmp_path))
    assert cfg.run.storage == (tmp_path / ".seed" / "data").as_uri()
    assert load_config({}, {"SEED_HOME": str(tmp_path / "h")}).run.storage == (tmp_path / "h" / "data").as_uri()
    assert cfg.crawl.max_file_bytes == Config().crawl.max_file_bytes


def test_precedence_flag_over_env_over_yaml_over_default(tmp_path):
    path = write(tmp_path, "max_file_bytes: 100\nmax_files_per_repo: 7\npartitions: 3\n")
    env = {"SEED_MAX_FILE_BYTES": "200", "SEED_MAX_FILES_PER_REPO": "8"}
    cfg = load_config({"max_file_bytes": 300}, env, path)
    assert cfg.crawl.max_file_bytes == 300      # flag
    assert cfg.crawl.max_files_per_repo == 8    # env beats YAML
    assert cfg.run.partitions == 3              # YAML beats default
    assert cfg.crawl.clone_timeout_s == Config().crawl.clone_timeout_s
    # SEED_CONFIG names the YAML file when no file is given
    assert load_config({}, {"SEED_CONFIG": path}).run.partitions == 3


def test_lists_from_env_and_yaml(tmp_path):
    assert load_config({}, {"SEED_SOURCES": "a, b,,c"}).run.sources == ("a", "b", "c")
    path = write(tmp_path, "languages: [Python, Go]\n")
    assert load_config({}, {}, path).run.languages == ("Python", "Go")


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


# ---------- sections ----------

def test_nested_and_flat_yaml_forms_give_the_same_config(tmp_path):
    nested = write(tmp_path, "near_dedup:\n  threshold: 0.5\n  shingle: 3\nsyntax: {rules: [minified]}\n"
                             "crawl: {max_file_bytes: 10}\nrun: {partitions: 2}\n")
    cfg = load_config({}, {}, nested)
    assert (cfg.near_dedup.threshold, cfg.near_dedup.shingle) == (0.5, 3)
    assert cfg.syntax.rules == ("minified",) and cfg.crawl.max_file_bytes == 10 and cfg.run.partitions == 2
    flat = tmp_path / "flat.yaml"
    flat.write_text("near_dedup_threshold: 0.5\nnear_dedup_shingle: 3\nsyntax_rules: minified\n"
                    "max_file_bytes: 10\npartitions: 2\n")
    assert load_config({}, {}, str(flat)) == cfg
    # the two forms mix; the environment and flags still win over either
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text("near_dedup: {threshold: 0.5}\nnear_dedup_shingle: 3\n")
    cfg = load_config({"near_dedup_shingle": 4}, {"SEED_NEAR_DEDUP_THRESHOLD": "0.6"}, str(mixed))
    assert (cfg.near_dedup.threshold, cfg.near_dedup.shingle) == (0.6, 4)


def test_seed_variable_of_a_section_key():
    cfg = load_config({}, {"SEED_NEAR_DEDUP_THRESHOLD": "0.8", "SEED_SYNTAX_MAX_ERROR_RATIO": "0.01",
                           "SEED_COMMIT_MIN_STARS": "3", "SEED_S3_REGION": "eu-west-1"})
    assert cfg.near_dedup.threshold == 0.8 and cfg.syntax.max_error_ratio == 0.01
    assert cfg.crawl.commit_min_stars == 3 and cfg.s3.region == "eu-west-1"
    assert cfg.near_dedup.shingle == Config().near_dedup.shingle


def test_bad_section_value_is_named_as_users_type_it_with_its_origin(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config({}, {"SEED_NEAR_DEDUP_THRESHOLD": "1.5"})
    assert str(e.value) == ("near_dedup_threshold: expected a Jaccard threshold in [0, 1], got 1.5 "
                            "(from environment SEED_NEAR_DEDUP_THRESHOLD)")
    path = write(tmp_path, "near_dedup:\n  threshold: 2\n")
    with pytest.raises(ConfigError, match=r"^near_dedup_threshold: .*got 2\.0 \(from config file .*seed\.yaml\)$"):
        load_config({}, {}, path)
    path = write(tmp_path, "near_dedup:\n  threshold: lots\n")
    with pytest.raises(ConfigError, match=r"^near_dedup_threshold \(from config file .*\): expected a number"):
        load_config({}, {}, path)
    with pytest.raises(ConfigError, match=r"^syntax_rules: unknown rule 'shouting'.*\(from command line"):
        load_config({"syntax_rules": "shouting"}, {})


def test_unknown_key_in_a_yaml_section_is_named_with_its_section(tmp_path):
    path = write(tmp_path, "near_dedup:\n  treshold: 0.5\n")
    with pytest.raises(ConfigError) as e:
        load_config({}, {}, path)
    message = str(e.value)
    assert message.startswith(f"near_dedup.treshold (from config file {path}): unknown key in section near_dedup; "
                              "did you mean threshold?")
    assert "its keys: shingle, num_perm, threshold, max_bucket, max_component" in message
    with pytest.raises(ConfigError, match=r"syntax \(from config file .*\): a section: expected a mapping"):
        load_config({}, {}, write(tmp_path, "syntax: 3\n"))
    with pytest.raises(ConfigError, match="near_dedup_threshold .*given twice, as near_dedup_threshold and as "
                                          "near_dedup.threshold"):
        load_config({}, {}, write(tmp_path, "near_dedup_threshold: 0.5\nnear_dedup: {threshold: 0.6}\n"))
    with pytest.raises(ConfigError, match="github_token .*secrets are not accepted here; set SEED_GITHUB_TOKEN"):
        load_config({}, {}, write(tmp_path, "github:\n  token: ghp_abc\n"))
    with pytest.raises(ConfigError, match="aws_secret_access_key .*secrets are not accepted here; they come from"):
        load_config({}, {}, write(tmp_path, "s3:\n  aws_secret_access_key: x\n"))
    with pytest.raises(ConfigError, match="unknown configuration key; did you mean near_dedup_threshold\\?"):
        load_config({}, {}, write(tmp_path, "near_dedup_treshold: 0.5\n"))


def test_public_dict_is_nested_and_older_flat_dicts_still_load():
    from seedlib.config import config_from_dict, flat_dict

    cfg = load_config({"storage": "/tmp/x", "near_dedup_threshold": 0.5, "syntax_error_ratio_by_language": "C=0.3",
                       "languages": ["Python"]}, {})
    public = cfg.public_dict()
    assert public["near_dedup"]["threshold"] == 0.5 and public["run"]["storage"] == "/tmp/x"
    assert public["syntax"]["error_ratio_by_language"] == {"C": 0.3}
    assert config_from_dict(public) == cfg
    # What manifests and _RUN.json held before sections: every key flat, JSON values.
    old = {"storage": "/tmp/x", "sources": [], "languages": ["Python"], "max_file_bytes": 1_000_000,
           "near_dedup_threshold": 0.5, "near_dedup_num_perm": 256, "near_dedup_shingle": 5,
           "syntax_error_ratio_by_language": {"C": 0.3}, "syntax_rules": ["auto_generated", "encoded_data",
                                                                          "minified", "data_literals"]}
    assert config_from_dict(old) == cfg
    assert config_from_dict(flat_dict(public)) == cfg
    from seedlib.config import FIELDS

    mappings = [k for k, f in FIELDS.items() if str(f.type) == "tuple[tuple[str, float], ...]"]
    assert {"syntax_error_ratio_by_language", "export_weights", "web_thresholds"} <= set(mappings)
    assert flat_dict(public) == {k: (dict(v) if k in mappings else list(v) if isinstance(v, tuple) else v)
                                 for k, v in cfg.flat().items()}
    with pytest.raises(ConfigError, match=r"near_dedup_treshold \(from run spec\): unknown configuration key"):
        config_from_dict({**old, "near_dedup_treshold": 1})


def test_old_flat_and_new_nested_manifests_compare_equal_for_reuse():
    from seedlib.config import flat_dict
    from seedlib.crawl.incremental import CRAWL_KEYS
    from seedlib.dedup.index import _signature_settings

    new = load_config({"storage": "/tmp/x", "languages": ["Go"]}, {}).public_dict()
    old = flat_dict(new)  # the flat shape an older manifest has
    assert "near_dedup_num_perm" in old and "near_dedup" not in old
    assert _signature_settings(old) == _signature_settings(new) == (256, 5, True)
    assert all(flat_dict(old)[k] == flat_dict(new)[k] for k in CRAWL_KEYS)
    other = load_config({"storage": "/tmp/x", "near_dedup_shingle": 3}, {}).public_dict()
    assert _signature_settings(other) != _signature_settings(old)


def test_constants_have_one_definition():
    from seedlib.dedup import order, settings as dedup_settings
    from seedlib.syntax import rules, settings as syntax_settings

    assert Config().dedup.permissive_licenses is dedup_settings.PERMISSIVE_LICENSES
    assert order.PERMISSIVE_LICENSES is dedup_settings.PERMISSIVE_LICENSES and not hasattr(order, "DEFAULT_PERMISSIVE")
    assert "Unicode-DFS-2016" in Config().dedup.permissive_licenses
    assert Config().dedup.keep_order == order.KEEP_CRITERIA
    assert rules.ORDER is syntax_settings.RULE_ORDER == Config().syntax.rules
    assert set(rules.RULES) == set(syntax_settings.RULE_ORDER)


def test_help_and_sections_are_declared_once():
    from seedlib.config import FIELDS, FLAT, SECTIONS, flat_name, help_for
    from seedlib.sections import SectionError
    from seedlib.dedup.settings import NearDedupSection

    assert help_for("allow_empty").startswith("publish even when") and help_for("near_dedup.threshold") == \
        help_for("near_dedup_threshold")
    assert FLAT["near_dedup_threshold"] == ("near_dedup", "threshold") and FLAT["max_file_bytes"] == \
        ("crawl", "max_file_bytes") and FLAT["storage"] == ("run", "storage")
    assert all(flat_name(*FLAT[flat]) == flat for flat in FIELDS) and set(SECTIONS) == set(Config().public_dict())
    assert len(FIELDS) == 116
    with pytest.raises(SectionError, match="threshold: expected a Jaccard threshold"):
        NearDedupSection(threshold=2.0).validate()


def test_configuration_docs_are_generated_from_the_sections():
    """docs/configuration.md is `python -m seedlib.config --markdown`; regenerate it after changing a section."""
    from pathlib import Path

    from seedlib.config import FIELDS, markdown

    committed = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == markdown() + "\n", "docs/configuration.md is stale: python -m seedlib.config --markdown"
    assert all(f"`{flat}`" in committed for flat in FIELDS)


def test_web_section_per_category_values():
    from seedlib.web.settings import WebSection

    config = load_config(overrides={"web_thresholds": "blog=5,documentation=7,ecommerce=8,forum=3,other=5"}, environ={})
    assert config.web.threshold("forum") == 3.0 and config.web.sample_rate("blog") == 1.0
    with pytest.raises(ConfigError, match="web_thresholds.*no value for ecommerce"):
        load_config(overrides={"web_thresholds": "blog=5,documentation=7,forum=3,other=5"}, environ={})
    with pytest.raises(ConfigError, match="web_sample_rates.*between 0 and 1"):
        load_config(overrides={"web_sample_rates": "blog=2,documentation=1,ecommerce=1,forum=1,other=1"}, environ={})
    from seedlib.sections import SectionError

    with pytest.raises(SectionError, match="keep_order"):
        WebSection(keep_order=("blog",)).validate()
