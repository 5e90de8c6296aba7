from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "pages.yml"


def load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps(job: str) -> list[dict]:
    return load()["jobs"][job]["steps"]


def uses(job: str) -> list[str]:
    return [step["uses"] for step in steps(job) if "uses" in step]


def runs(job: str) -> list[str]:
    return [step["run"].strip() for step in steps(job) if "run" in step]


def test_pages_workflow_triggers_permissions_and_concurrency():
    workflow = load()
    triggers = workflow.get("on", workflow.get(True))   # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert workflow["concurrency"]["group"] == "pages"


def test_pages_workflow_build_job_renders_from_the_freeze_records():
    assert uses("build") == ["actions/checkout@v4", "actions/setup-python@v5",
                             "actions/configure-pages@v5", "actions/upload-pages-artifact@v3"]
    setup = next(step for step in steps("build") if step.get("uses") == "actions/setup-python@v5")
    assert str(setup["with"]["python-version"]) == "3.11"
    assert runs("build") == ["pip install -r requirements.txt", "python -m builder build --frozen",
                             "test -f _site/pagefind/shards.json"]   # the search index came with it
    upload = next(step for step in steps("build") if step.get("uses") == "actions/upload-pages-artifact@v3")
    assert upload["with"]["path"] == "_site"


def test_pages_workflow_deploy_job():
    deploy = load()["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"] == {"name": "github-pages",
                                     "url": "${{ steps.deployment.outputs.page_url }}"}
    assert deploy["steps"] == [{"name": "Deploy to GitHub Pages", "id": "deployment",
                                "uses": "actions/deploy-pages@v4"}]


def test_pages_workflow_installs_no_torch_and_no_exec_requirements():
    commands = " ".join(runs("build") + runs("deploy"))
    assert "torch" not in commands
    assert "requirements-exec" not in WORKFLOW.read_text(encoding="utf-8")
    render_only = (WORKFLOW.parents[2] / "requirements.txt").read_text(encoding="utf-8")
    assert "torch" not in render_only.lower() and "-r " not in render_only
