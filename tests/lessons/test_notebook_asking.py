"""Predictions, quizzes and hints: fill in answers as a learner would and assert the feedback."""

from __future__ import annotations

import pytest

from grader.notebook import quizzes
from grader.notebook.asking import (
    Hints,
    Prediction,
    Question,
    Quiz,
    choice_feedback,
    number_feedback,
)
from grader.reporters.sanitize import html_escape as escape


def test_a_close_number_prediction_is_praised_and_a_far_one_corrected() -> None:
    assert "Close" in number_feedback(170, 183.5, "MB") and "ddw-right" in number_feedback(170, 183.5, "MB")
    far = number_feedback(0, 183.5, "MB", explanation="Layers are permanent.")
    assert "Not quite" in far and "183.5 MB" in far and "Layers are permanent." in far


def test_no_prediction_still_shows_the_measurement() -> None:
    assert "No prediction entered" in number_feedback(None, 10.1, "s") and "10.1 s" in number_feedback(None, 10.1, "s")


def test_a_prediction_typed_after_the_measurement_updates_the_feedback() -> None:
    guess = Prediction("How many seconds?", unit="s")
    shown = guess.reveal(10.1, "SIGKILL after the grace period.")
    assert "No prediction entered" in shown.value
    guess.answer_with("10")  # what the learner types; the observer redraws
    assert "Close" in shown.value and "you predicted <b>10 s</b>" in shown.value


def test_a_choice_prediction_compares_with_what_happened() -> None:
    guess = Prediction("What happens?", choices=["the build fails", "it works"])
    guess.answer_with("it works")
    assert "Not quite" in guess.reveal("the build fails").value
    assert "Right" in choice_feedback("the build fails", "the build fails")


def test_a_quiz_checks_each_answer_at_once_with_its_explanation() -> None:
    quiz = Quiz(quizzes.LESSONS["01"])
    wrong = quiz.answer(0, 0)
    assert "Not this one" in wrong and quizzes.LESSONS["01"][0].explanations[0] in wrong
    right = quiz.answer(0, quizzes.LESSONS["01"][0].correct)
    assert "Correct." in right and "Right:" not in right and quiz.score() == 1
    assert quiz._feedback[0].value == right  # what the learner sees under the question


def test_every_lesson_quiz_has_an_explanation_per_option() -> None:
    assert sorted(quizzes.LESSONS) == [f"{n:02d}" for n in range(11)]
    for questions in quizzes.LESSONS.values():
        Quiz(questions)  # raises on a missing explanation or a bad index
        assert len(questions) >= 2


def test_a_question_with_a_missing_explanation_is_refused() -> None:
    with pytest.raises(ValueError):
        Quiz([Question("?", ("a", "b"), 0, ("only one",))])


def test_hints_are_revealed_one_at_a_time() -> None:
    hints = Hints(["first", "second"])
    assert "first" in hints.reveal_next() and "second" not in hints.out.value
    assert "second" in hints.reveal_next() and hints.button.disabled


def _saved_html(widget: object) -> str:
    """The text/html a saved notebook keeps for a widget (what GitHub or a static HTML view shows)."""
    data = widget._repr_mimebundle_()  # type: ignore[attr-defined]
    return str(data["text/html"])


def test_a_saved_quiz_shows_questions_options_and_folded_answers_without_widgets() -> None:
    quiz = Quiz(quizzes.LESSONS["02"])
    text = quiz._text_html()  # the fallback its widget carries (Quiz._ipython_display_ hands it to with_fallback)
    for question in quiz.questions:
        item = text.split(escape(question.text), 1)[1].split("</details>", 1)[0]
        assert all(escape(option) in item.split("<details", 1)[0] for option in question.options)
        folded = item.split("<details", 1)[1]
        right = escape(question.options[question.correct])
        assert "<summary>Answer</summary>" in folded and f"<b>{right}</b>" in folded
        assert all(escape(why) in folded for why in question.explanations)


def test_a_saved_prediction_shows_its_choices_and_after_the_reveal_the_folded_answer() -> None:
    guess = Prediction("What does the build do?", choices=["it works", "the build fails"])
    assert "it works" in guess.question_html() and "the build fails" in guess.question_html()
    revealed = _saved_html(guess.reveal("the build fails", "pg_config is missing."))
    assert "What does the build do?" in revealed and "it works" in revealed
    folded = revealed.split("<details", 1)[1]
    assert "the build fails" in folded and "pg_config is missing." in folded and "No prediction picked" in folded
    number = Prediction("How many MB?", unit="MB")
    assert "183 MB" in _saved_html(number.reveal(183, "The base.")).split("<details", 1)[1]
