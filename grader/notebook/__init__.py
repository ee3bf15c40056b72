"""The notebook edge of the workshop: widgets, the grade panel, predictions and quizzes, and one helper module
per lesson.

- `widgets`, `panel`, `asking`: display adapters (ipywidgets). They draw a Report with grader.reporters.notebook
  (the one renderer) and other data with `views` (pure HTML).
- `fat`, `node`, `python`, `combined`, `principles`, `measuring`, `beyond`, `closing`: what each lesson
  measures. They call grader.api (grading) and grader.notebook.image_api (small builds, runs, facts, history) and return
  frozen data; none imports the docker SDK, grader.engine.daemon or grader.engine.inspect, and none imports the widgets.
"""
