"""What training says while it runs (issue 9 item 4): a progress bar redrawn with `\\r` on a
terminal (step, loss, steps/s, time left), `step N  loss L` lines every log_every steps
anywhere else, nothing with log_every=0; and an emitted module run with its standard error on a
real terminal (a pseudo-terminal) draws the bar."""
from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from helpers import SPECS
from sciml.modules import compile_and_import
from sciml.runtime.progress import TrainingProgress


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    """A clock that moves `tick` seconds every time it is read."""

    def __init__(self, tick):
        self.now, self.tick = 100.0, tick

    def __call__(self):
        self.now += self.tick
        return self.now


def test_on_a_terminal_one_line_is_redrawn_with_step_loss_rate_and_time_left():
    screen = Terminal()
    progress = TrainingProgress(10, log_every=100, stream=screen, interval=0.0, clock=Clock(0.5))
    for step in range(1, 11):
        progress(step, 1.0 / step)
    progress.close()
    text = screen.getvalue()
    frames = text.split("\r")[1:]
    assert len(frames) == 10 and text.endswith("\n") and "\n" not in text[:-1]
    assert frames[0].startswith("step  1/10 [##") and "  10%  loss 1.000000e+00  " in frames[0]
    assert "2.0 steps/s" in frames[3] and "0:03 left" in frames[3]   # 4 steps in 2 s; 6 to go at 2/s
    assert frames[-1].rstrip("\n").rstrip().endswith("0:00 left")
    assert "[########################] 100%  loss 1.000000e-01" in frames[-1]


def test_the_bar_is_drawn_at_most_every_interval_and_always_at_the_last_step():
    screen = Terminal()
    progress = TrainingProgress(20, stream=screen, interval=1.0, clock=Clock(0.3))
    for step in range(1, 21):
        progress(step, 0.5)
    progress.close()
    frames = screen.getvalue().split("\r")[1:]
    assert 4 <= len(frames) <= 8 and frames[-1].startswith("step 20/20")


def test_a_shorter_line_wipes_the_longer_one_it_replaces():
    screen = Terminal()
    progress = TrainingProgress(10, stream=screen, interval=0.0, clock=Clock(0.1))
    progress(1, 1.5e300)
    progress(2, 1.0)
    first, second = screen.getvalue().split("\r")[1:]
    assert len(second) >= len(first)


def test_elsewhere_log_lines_every_log_every_steps_and_quiet_with_zero():
    log = io.StringIO()
    progress = TrainingProgress(10, log_every=4, stream=log)
    for step in range(1, 11):
        progress(step, 2.0)
    progress.close()
    assert log.getvalue() == "step      4  loss 2.000000e+00\nstep      8  loss 2.000000e+00\n"
    quiet, screen = io.StringIO(), Terminal()
    for stream in (quiet, screen):
        silent = TrainingProgress(10, log_every=0, stream=stream, interval=0.0)
        for step in range(1, 11):
            silent(step, 2.0)
        silent.close()
    assert quiet.getvalue() == screen.getvalue() == ""


def test_a_resumed_run_counts_its_rate_from_where_it_started():
    screen = Terminal()
    progress = TrainingProgress(100, first=90, stream=screen, interval=0.0, clock=Clock(1.0))
    progress(91, 1.0)
    progress(92, 1.0)
    frames = screen.getvalue().split("\r")[1:]
    assert frames[-1].startswith("step  92/100") and "1.0 steps/s" in frames[-1] and "0:08 left" in frames[-1]


def test_times_read_as_a_clock():
    assert [TrainingProgress.clock_text(s) for s in (0, 59.4, 63, 3600 + 125, float("inf"))] == \
        ["0:00", "0:59", "1:03", "1:02:05", "?"]


def test_emitted_module_draws_the_bar_on_a_terminal_and_logs_into_a_pipe(tmp_path):
    module = compile_and_import(SPECS / "ode" / "classifier.sciml", "torch", tmp_path, name="classifier_progress")
    command = [sys.executable, module.__file__, "--steps", "100", "--dtype", "float64"]
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=terminal, timeout=300, cwd=tmp_path)
        os.close(terminal)
        terminal = None
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:   # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if terminal is not None:
            os.close(terminal)
        os.close(controller)
    assert done.returncode == 0
    screen = seen.decode()
    assert "\r" in screen and "step 100/100 [" in screen and "steps/s" in screen and "left" in screen
    assert "step    100  loss" not in screen
    piped = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert piped.returncode == 0 and "\r" not in piped.stderr
    assert "step    100  loss " in piped.stderr
