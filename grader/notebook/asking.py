"""Lessons that ask: a prediction the learner makes before a cell measures, a quiz checked at once with an
explanation for every answer, and hints revealed one at a time.

The feedback is pure (`number_feedback`, `choice_feedback`, `Question.feedback`), so tests fill in answers and
assert it; the widgets only collect the answer and show that feedback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grader.notebook.widgets import html, ipywidgets_module, with_fallback
from grader.reporters.sanitize import html_escape as escape

__all__ = [
    "Hints",
    "Prediction",
    "Question",
    "Quiz",
    "choice_feedback",
    "number_feedback",
]

_GOOD, _BAD, _NONE = "#1a7f37", "#cf222e", "#57606a"


def _box(colour: str, text: str, css: str) -> str:
    return f"<div class='{css}' style='border-left:4px solid {colour};padding:2px 8px;margin:4px 0'>{text}</div>"


def number_feedback(answer: float | None, measured: float, unit: str = "", *, tolerance: float = 0.25,
                    explanation: str = "") -> str:
    """HTML comparing a predicted number with the measured one (within `tolerance` as a fraction is close)."""
    shown = f"<b>{measured:g} {escape(unit)}</b>"
    tail = f" {escape(explanation)}" if explanation else ""
    if answer is None:
        return _box(_NONE, f"No prediction entered. Measured: {shown}.{tail}", "ddw-feedback ddw-unanswered")
    close = abs(answer - measured) <= tolerance * max(abs(measured), 1e-9)
    verdict = "Close" if close else "Not quite"
    return _box(_GOOD if close else _BAD, f"{verdict}: you predicted <b>{answer:g} {escape(unit)}</b>; measured: "
                f"{shown}.{tail}", f"ddw-feedback ddw-{'right' if close else 'wrong'}")


def choice_feedback(answer: str | None, correct: str, explanation: str = "") -> str:
    """HTML comparing a picked answer with the measured outcome."""
    tail = f" {escape(explanation)}" if explanation else ""
    if answer is None:
        return _box(_NONE, f"No prediction picked. What happened: <b>{escape(correct)}</b>.{tail}",
                    "ddw-feedback ddw-unanswered")
    right = answer == correct
    return _box(_GOOD if right else _BAD, f"{'Right' if right else 'Not quite'}: you picked <b>{escape(answer)}"
                f"</b>; what happened: <b>{escape(correct)}</b>.{tail}",
                f"ddw-feedback ddw-{'right' if right else 'wrong'}")


class Prediction:
    """Ask before measuring: `Prediction(question, unit=...)` (a number) or `Prediction(question, choices=[...])`.
    Display it; a later cell calls `reveal(measured)`, which shows the comparison and keeps it up to date if the
    learner changes the answer afterwards."""

    def __init__(self, question: str, *, unit: str = "", choices: Sequence[str] | None = None) -> None:
        self.question, self.unit, self.choices = question, unit, tuple(choices or ())
        self._measured: Any = None
        self._explanation = ""
        self._preset: Any = None
        w = ipywidgets_module()
        self._w = w
        self.feedback = w.HTML(value="") if w is not None else None
        if w is None:
            self.input = None
        elif self.choices:
            self.input = w.RadioButtons(options=list(self.choices), value=None, layout=w.Layout(width="auto"))
        else:
            self.input = w.Text(placeholder=f"your guess{f' in {unit}' if unit else ''}",
                                layout=w.Layout(width="14em"))
        if self.input is not None:
            self.input.observe(lambda _change: self._refresh(), names="value")

    @property
    def answer(self) -> Any:
        """The learner's answer: a float, a choice, or None (not answered, or not a number)."""
        raw = self.input.value if self.input is not None else self._preset
        if self.choices:
            return raw
        try:
            return float(str(raw).replace(",", ".").split()[0]) if raw not in (None, "") else None
        except (ValueError, IndexError):
            return None

    def answer_with(self, value: Any) -> None:
        """Fill in an answer (what the learner types; the tests use it)."""
        if self.input is not None:
            self.input.value = value if self.choices else str(value)
        else:
            self._preset = value
        self._refresh()

    def feedback_html(self) -> str:
        if self._measured is None:
            return ""
        if self.choices:
            return choice_feedback(self.answer, str(self._measured), self._explanation)
        return number_feedback(self.answer, float(self._measured), self.unit, explanation=self._explanation)

    def question_html(self) -> str:
        """The question and its choices (what a viewer without widgets shows in place of the input)."""
        choices = "".join(f"<li>{escape(c)}</li>" for c in self.choices)
        return (f"<div class='ddw-predict'><p><b>Predict:</b> {escape(self.question)}"
                f"{f' (in {escape(self.unit)})' if self.unit else ''}</p>{f'<ul>{choices}</ul>' if choices else ''}"
                "</div>")

    def static_html(self) -> str:
        """The question, the choices and, folded, what was measured with the explanation and the feedback."""
        if self._measured is None:
            return self.question_html()
        unit = f" {escape(self.unit)}" if self.unit and not self.choices else ""
        return (self.question_html() + "<details class='ddw-answer'><summary>Answer: what was measured</summary>"
                f"<p><b>{escape(str(self._measured))}{unit}</b></p><p>{escape(self._explanation)}</p>"
                f"{self.feedback_html()}</details>")

    def _refresh(self) -> None:
        if self.feedback is not None:
            self.feedback.value = self.feedback_html()

    def reveal(self, measured: Any, explanation: str = "") -> Any:
        """Compare the answer with what was measured; returns the feedback to display."""
        self._measured, self._explanation = measured, explanation
        if self.feedback is None:
            return html(self.static_html())
        self._refresh()
        return with_fallback(self.feedback, self.static_html)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self._w is None or self.input is None:
            display(html(self.question_html()))  # type: ignore[no-untyped-call]
            return
        box = self._w.VBox([self._w.HTML(value=f"<div class='ddw-predict'><b>Predict:</b> "
                                               f"{escape(self.question)}</div>"), self.input])
        display(with_fallback(box, self.question_html))  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Question:
    """One quiz question: the options, which one is right, and why each option is right or wrong."""

    text: str
    options: tuple[str, ...]
    correct: int
    explanations: tuple[str, ...]

    def static_html(self) -> str:
        """The question, its options and (in a closed <details>) the answer with every option's explanation."""
        options = "".join(f"<li>{escape(o)}</li>" for o in self.options)
        why = "".join(f"<li>{escape(o)}: {escape(e)}</li>" for o, e in zip(self.options, self.explanations,
                                                                           strict=True))
        return (f"<li>{escape(self.text)}<ul>{options}</ul><details class='ddw-answer'><summary>Answer</summary>"
                f"<p><b>{escape(self.options[self.correct])}</b></p><ul>{why}</ul></details></li>")

    def feedback(self, choice: int | None) -> str:
        if choice is None:
            return ""
        right = choice == self.correct
        verdict = "Correct." if right else f"Not this one. The answer is: {escape(self.options[self.correct])}."
        why = self.explanations[choice].removeprefix("Right: ") if right else self.explanations[choice]
        return _box(_GOOD if right else _BAD, f"<b>{verdict}</b> {escape(why)}",
                    f"ddw-feedback ddw-{'right' if right else 'wrong'}")


class Quiz:
    """A short quiz: each question checked as soon as an option is picked, with that option's explanation."""

    def __init__(self, questions: Sequence[Question]) -> None:
        self.questions = tuple(questions)
        for q in self.questions:
            if len(q.options) != len(q.explanations) or not 0 <= q.correct < len(q.options):
                raise ValueError(f"Question {q.text!r}: one explanation per option, and a valid correct index.")
        self.choices: list[int | None] = [None] * len(self.questions)
        self._w = ipywidgets_module()
        self._feedback: list[Any] = []
        self._radios: list[Any] = []
        if self._w is not None:
            for index, question in enumerate(self.questions):
                radio = self._w.RadioButtons(options=[(o, i) for i, o in enumerate(question.options)], value=None,
                                             layout=self._w.Layout(width="auto"))
                radio.observe(lambda change, i=index: self._picked(i, change["new"]), names="value")
                self._radios.append(radio)
                self._feedback.append(self._w.HTML(value=""))

    def _picked(self, index: int, choice: int | None) -> None:
        self.choices[index] = choice
        if self._feedback:
            self._feedback[index].value = self.questions[index].feedback(choice)

    def answer(self, index: int, choice: int) -> str:
        """Pick option `choice` of question `index` (as a click does); returns the feedback shown."""
        if self._radios:
            self._radios[index].value = choice
        else:
            self._picked(index, choice)
        return self.questions[index].feedback(choice)

    def score(self) -> int:
        return sum(choice == q.correct for choice, q in zip(self.choices, self.questions, strict=True))

    def _text_html(self) -> str:
        """Questions, options and, folded, each answer and why: readable where widgets cannot run."""
        return f"<div class='ddw-quiz'><b>Quiz</b><ol>{''.join(q.static_html() for q in self.questions)}</ol></div>"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self._w is None:
            display(html(self._text_html()))  # type: ignore[no-untyped-call]
            return
        rows = []
        for index, question in enumerate(self.questions):
            rows += [self._w.HTML(value=f"<b>{index + 1}. {escape(question.text)}</b>"), self._radios[index],
                     self._feedback[index]]
        box = self._w.VBox([self._w.HTML(value="<div class='ddw-quiz'><b>Quiz</b>: pick an answer; it is "
                                               "checked at once.</div>"), *rows])
        display(with_fallback(box, self._text_html))  # type: ignore[no-untyped-call]


class Hints:
    """Progressive hints: a button reveals the next one; earlier ones stay visible."""

    def __init__(self, hints: Sequence[str]) -> None:
        self.hints = tuple(hints)
        self.shown = 0
        self._w = ipywidgets_module()
        if self._w is not None:
            self.button = self._w.Button(description=f"Show hint 1 of {len(self.hints)}", icon="lightbulb-o")
            self.out = self._w.HTML(value="")
            self.button.on_click(lambda _b: self.reveal_next())

    def reveal_next(self) -> str:
        """Show one more hint; returns the HTML of every hint shown so far."""
        self.shown = min(self.shown + 1, len(self.hints))
        shown = "".join(f"<li>{escape(h)}</li>" for h in self.hints[: self.shown])
        text = f"<ol class='ddw-hints'>{shown}</ol>"
        if self._w is not None:
            self.out.value = text
            more = self.shown < len(self.hints)
            self.button.disabled = not more
            self.button.description = f"Show hint {self.shown + 1} of {len(self.hints)}" if more else "No more hints"
        return text

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self._w is None:
            note = "<p>Hints: call <code>reveal_next()</code> for one more.</p>"
            display(html(note))  # type: ignore[no-untyped-call]
            return
        display(with_fallback(self._w.VBox([self.button, self.out]),  # type: ignore[no-untyped-call]
                              lambda: f"<p>{len(self.hints)} hints, revealed one at a time.</p>"))
