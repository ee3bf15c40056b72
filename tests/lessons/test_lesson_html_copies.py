"""Read without running: every lesson has an executed HTML copy under docs/lessons/ (made by
`python -m grader.notebook.export docs/lessons`), labelled with the engine, builder, cores and date of its numbers,
small, without widget state, and holding its quiz's answers and explanations (folded in <details>)."""

from __future__ import annotations

import html
import json

import pytest
from lesson_support import NOTEBOOKS

from grader.notebook import quizzes
from grader.notebook.export import WIDGET_VIEW
from grader.paths import REPO_ROOT

COPIES = REPO_ROOT / "docs" / "lessons"
MAX_COPY_BYTES = 1_500_000


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_lesson_has_a_small_labelled_html_copy(name: str) -> None:
    copy = COPIES / name.replace(".ipynb", ".html")
    assert copy.exists(), f"no {copy.relative_to(REPO_ROOT)}: run `python -m grader.notebook.export docs/lessons`"
    text = copy.read_text()
    assert copy.stat().st_size < MAX_COPY_BYTES and WIDGET_VIEW not in text
    assert "Executed copy." in text and "Docker engine" in text and "builder" in text and "CPU cores" in text
    assert "Traceback (most recent call last)" not in text, f"{copy.name} was exported from a run that failed"
    times = json.loads((COPIES / "times.json").read_text())
    assert times[name]["seconds"] > 0 and {"engine", "builder", "cores", "date"} <= set(times[name])


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_html_copy_holds_its_quiz_answers_and_revealed_predictions(name: str) -> None:
    text = html.unescape((COPIES / name.replace(".ipynb", ".html")).read_text())  # nbconvert re-quotes entities
    questions = quizzes.LESSONS.get(name[:2], ())
    assert questions, f"{name}: no quiz"
    for question in questions:
        folded = text.split(question.text, 1)[1].split("<details", 1)[1].split("</details>", 1)[0]
        assert f"<b>{question.options[question.correct]}</b>" in folded
        assert all(why in folded for why in question.explanations)
    assert text.count("Answer: what was measured") >= 2, f"{name}: the predictions' reveals are not in the copy"


def test_redact_hosts_hides_the_mirror_and_registry_names_in_outputs() -> None:
    from grader.notebook.export import redact_hosts

    shown = redact_hosts('/var/lib/apt/lists/mirror.example.org_debian_dists_bookworm_InRelease | '
                         'Get &quot;https://registry.example.com/v2/&quot;: dial tcp: lookup registry.example.com on '
                         '10.0.0.53:53: no such host | <a href="https://docs.example.org/x">docs</a>')
    assert "mirror.example.org" not in shown and "registry.example.com" not in shown and "10.0.0.53" not in shown
    assert "/var/lib/apt/lists/&lt;mirror&gt;_debian_dists" in shown and "https://docs.example.org/x" in shown


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_copy_names_this_machines_mirror_or_registry(name: str) -> None:
    from grader.notebook.export import redact_hosts

    text = (COPIES / name.replace(".ipynb", ".html")).read_text()
    assert redact_hosts(text) == text, f"{name}: run the export again (it redacts host names from outputs)"
