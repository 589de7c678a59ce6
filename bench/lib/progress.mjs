// Progress on stderr: one redrawn line on a terminal, plain lines (one per step) otherwise, so CI
// logs stay readable. stdout is left to the result table.
import { setInterval, clearInterval } from 'node:timers';
import { now } from './measure.mjs';

const BAR_WIDTH = 24;

export class Progress {
  constructor({ stream = process.stderr, total }) {
    this.stream = stream;
    this.tty = Boolean(stream.isTTY);
    this.total = total;
    this.index = 0;
    this.id = '';
    this.label = '';
    this.fraction = 0;
    this.runStart = now();
    this.scenarioStart = now();
    this.drawn = false;
    this.timer = null;
  }

  startScenario(index, id) {
    this.index = index;
    this.id = id;
    this.label = '';
    this.fraction = 0;
    this.scenarioStart = now();
    if (this.tty) {
      this.timer ??= setInterval(() => this.draw(), 100);
      this.timer.unref();
      this.draw();
    } else {
      this.stream.write(`[${index + 1}/${this.total}] ${id} …\n`);
    }
  }

  update(fraction, label) {
    this.fraction = Math.max(0, Math.min(1, fraction));
    if (label !== undefined && label !== this.label) {
      this.label = label;
      if (!this.tty) this.stream.write(`[${this.index + 1}/${this.total}] ${this.id} · ${label}\n`);
    }
  }

  endScenario(summary) {
    const seconds = ((now() - this.scenarioStart) / 1000).toFixed(1);
    this.clear();
    this.stream.write(`[${this.index + 1}/${this.total}] ${this.id} done in ${seconds} s${summary ? ` — ${summary}` : ''}\n`);
  }

  /** Prints a message above the progress line. */
  log(message) {
    this.clear();
    this.stream.write(`${message}\n`);
    if (this.tty) this.draw();
  }

  finish() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }

  clear() {
    if (this.tty && this.drawn) {
      this.stream.write('\r\x1b[2K');
      this.drawn = false;
    }
  }

  draw() {
    if (!this.tty || !this.id) return;
    const filled = Math.round(this.fraction * BAR_WIDTH);
    const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
    const total = ((now() - this.runStart) / 1000).toFixed(0);
    const text = `[${this.index + 1}/${this.total}] ${this.id}${this.label ? ` · ${this.label}` : ''} ${bar} ${Math.round(this.fraction * 100)}%  ${total}s`;
    const width = this.stream.columns || 100;
    this.stream.write(`\r\x1b[2K${text.slice(0, width - 1)}`);
    this.drawn = true;
  }
}
