"""What training says while it runs: a progress bar on a terminal, log lines otherwise.

On a terminal (standard error `isatty()`) one line is redrawn in place with a plain carriage
return, at most every `interval` seconds and at the last step: the step, a bar, the loss, steps
per second and the time left.  Anywhere else (a file, a pipe, CI) a line `step N  loss L` is
written every `log_every` steps, as before.  No dependency.
"""
import sys
import time


class TrainingProgress:
    """progress(done, loss) after every training step; progress.close() when training ends.

    total: the steps of the whole run; first: the steps already done before it (a resumed
    run); log_every: steps between log lines (0: say nothing, bar or lines); stream: where to
    write (default: sys.stderr at the time of writing); interval: seconds between redraws of
    the bar; clock: the time source (seconds)."""

    WIDTH = 24  # characters of the bar

    def __init__(self, total, log_every=100, first=0, stream=None, interval=0.1, clock=time.perf_counter):
        self.total, self.log_every, self.first = total, log_every, first
        self.stream, self.interval, self.clock = stream, interval, clock
        self.start, self.drawn_at = clock(), None
        self.shown = 0  # characters of the bar line on screen now (0: none drawn)
        self.bar = bool(log_every) and self.is_terminal(self.output())

    def output(self):
        return sys.stderr if self.stream is None else self.stream

    @staticmethod
    def is_terminal(stream):
        isatty = getattr(stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except (OSError, ValueError):  # a closed or odd stream
            return False

    def __call__(self, done, value):
        if not self.log_every:
            return
        now = self.clock()
        if not self.bar:
            if done % self.log_every == 0:
                print(f"step {done:6d}  loss {value:.6e}", file=self.output())
            return
        if done < self.total and self.drawn_at is not None and now - self.drawn_at < self.interval:
            return
        self.drawn_at = now
        elapsed = now - self.start
        self.draw(self.line(done, value, (done - self.first) / elapsed if elapsed > 0 else 0.0))

    def line(self, done, value, rate):
        """`step   120/3000 [##......]   4%  loss 1.234567e-01  45.2 steps/s  1:03 left`."""
        total = max(self.total, 1)
        filled = min(self.WIDTH, self.WIDTH * done // total)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        left = (self.total - done) / rate if rate > 0 else float("inf")
        digits = len(str(self.total))
        return (f"step {done:{digits}d}/{self.total} [{bar}] {100 * done // total:3d}%  loss {value:.6e}  "
                f"{rate:.1f} steps/s  {self.clock_text(left)} left")

    @staticmethod
    def clock_text(seconds):
        """'1:03', '2:05:09', or '?' for a time not known yet."""
        if seconds != seconds or seconds == float("inf"):
            return "?"
        minutes, secs = divmod(int(round(seconds)), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

    def draw(self, text):
        stream = self.output()
        stream.write("\r" + text + " " * max(0, self.shown - len(text)))
        stream.flush()
        self.shown = len(text)

    def close(self):
        """End the bar's line, so that what is written next starts on a line of its own."""
        if self.shown:
            self.output().write("\n")
            self.output().flush()
            self.shown = 0
