/**
 * Line-based prompting that behaves the same in a terminal and with answers piped on stdin.
 *
 * We read stdin ourselves and split it into lines: readline's question() on a pipe can lose
 * lines that arrived in the same chunk as an earlier answer, so piping all answers at once
 * would silently fall back to defaults. Every line read is one answer, in order. When stdin
 * is not a terminal, the answer is echoed after the prompt so a log reads like a session.
 */
import type { Readable, Writable } from 'node:stream';
import { UserError } from '../lib/errors.js';
import { checkMessage, isAsked, UNASKED_KEYS, unaskedDefault, yesNoDefault, type Answers, type Environment, type Question } from './questions.js';

/** stdin ended before every question was answered. */
export class EndOfInput extends UserError {
  constructor(prompt: string) {
    super(`stdin ended before every question was answered (still waiting for: "${prompt}"); nothing was written`);
    this.name = 'EndOfInput';
  }
}

export class LineReader {
  private readonly lines: string[] = [];
  private partial = '';
  private ended = false;
  private waiter: (() => void) | undefined;
  private started = false;

  constructor(private readonly input: Readable) {}

  private readonly onData = (chunk: string | Buffer) => {
    this.partial += chunk.toString();
    let newline: number;
    while ((newline = this.partial.indexOf('\n')) !== -1) {
      this.lines.push(this.partial.slice(0, newline).replace(/\r$/, ''));
      this.partial = this.partial.slice(newline + 1);
    }
    this.wake();
  };

  private readonly onEnd = () => {
    // A last line without a newline is still an answer.
    if (this.partial.length > 0) this.lines.push(this.partial.replace(/\r$/, ''));
    this.partial = '';
    this.ended = true;
    this.wake();
  };

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    if ('setEncoding' in this.input) this.input.setEncoding('utf8');
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('error', this.onEnd);
    this.input.resume();
  }

  /** The next line without its line ending, or undefined at end of input. */
  async next(): Promise<string | undefined> {
    this.start();
    while (this.lines.length === 0 && !this.ended) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    return this.lines.shift();
  }

  /** Stop reading so the process can exit while stdin is still open (a terminal, an unfinished pipe). */
  close(): void {
    if (!this.started) return;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('error', this.onEnd);
    this.input.pause();
  }
}

export class Prompter {
  constructor(
    private readonly reader: LineReader,
    private readonly output: Writable,
    /** Echo answers (stdin is not a terminal, so nothing else shows them). */
    private readonly echo: boolean,
  ) {}

  say(text: string): void {
    this.output.write(`${text}\n`);
  }

  /** Why an answer was not taken; the question is asked again. */
  explain(message: string): void {
    this.output.write(`  -> ${message}\n`);
  }

  private async line(prompt: string): Promise<string> {
    this.output.write(prompt);
    const line = await this.reader.next();
    if (line === undefined) {
      this.output.write('\n');
      throw new EndOfInput(prompt.replace(/: $/, ''));
    }
    if (this.echo) this.output.write(`${line}\n`);
    return line.trim();
  }

  /** A free-text answer; Enter takes the default; with no default, something has to be typed. */
  async text(prompt: string, defaultValue: string | undefined): Promise<string> {
    for (;;) {
      const typed = await this.line(defaultValue === undefined ? `${prompt}: ` : `${prompt} [${defaultValue}]: `);
      const value = typed === '' ? defaultValue : typed;
      if (value !== undefined && value !== '') return value;
      this.explain('an answer is needed here (there is no default)');
    }
  }

  async yesNo(prompt: string, defaultValue: boolean): Promise<boolean> {
    for (;;) {
      const typed = (await this.line(`${prompt} [${defaultValue ? 'y' : 'n'}]: `)).toLowerCase();
      if (typed === '') return defaultValue;
      if (typed === 'y' || typed === 'yes') return true;
      if (typed === 'n' || typed === 'no') return false;
      this.explain('answer y (yes) or n (no), or press Enter for the default in brackets');
    }
  }
}

/**
 * Ask the questions in order. A failed check is explained and the question asked again; a
 * key that does not fit its certificate sends the admin back to the certificate path.
 */
export async function askQuestions(questions: readonly Question[], prompter: Prompter, env: Environment): Promise<Answers> {
  const answers: Answers = {};
  for (let index = 0; index < questions.length; index++) {
    const question = questions[index];
    if (!isAsked(question, answers, env)) {
      const skipped = question.skipped?.(answers, env);
      if (skipped !== undefined) answers[question.key] = skipped;
      continue;
    }
    const prompt = question.prompt(answers);
    if (question.kind === 'yesno') {
      const yes = await prompter.yesNo(prompt, yesNoDefault(question, answers, env));
      answers[question.key] = question.configValue ? question.configValue(yes) : yes;
      continue;
    }
    const fallback = question.defaultAnswer(answers, env);
    let goBackTo: string | undefined;
    for (;;) {
      const value = await prompter.text(prompt, typeof fallback === 'string' ? fallback : undefined);
      const result = question.check?.(value, answers, env);
      if (!result) {
        answers[question.key] = value;
        break;
      }
      prompter.explain(checkMessage(result)!);
      if (typeof result === 'object') {
        goBackTo = result.askAgainFrom;
        break;
      }
    }
    if (goBackTo) {
      const target = questions.findIndex((q) => q.id === goBackTo);
      if (target === -1) throw new Error(`question ${question.id} sends back to unknown question ${goBackTo}`);
      index = target - 1;
    }
  }
  // Settings no question asks (the ACME directory) keep their earlier value, as in --answers.
  for (const key of UNASKED_KEYS) answers[key] = unaskedDefault(key, env);
  return answers;
}
