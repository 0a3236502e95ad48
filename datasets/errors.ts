/**
 * Error types of the data-set layer. Every error names the file (or URL) it is
 * about, so a user can tell a missing file from a corrupt one at a glance.
 */

/** Base class of all data-set errors. */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** What is wrong with a file that exists but cannot be used. */
export type FormatProblem = 'corrupt' | 'truncated' | 'wrong-format';

/** A file exists but its contents are not what the loader expects. */
export class DatasetFormatError extends DatasetError {
  readonly file: string;
  readonly problem: FormatProblem;
  constructor(file: string, problem: FormatProblem, detail: string) {
    super(`${file}: ${problem}: ${detail}`);
    this.file = file;
    this.problem = problem;
  }
}

/** The data set could not be found locally (and downloading was off or failed). */
export class DatasetNotFoundError extends DatasetError {}

/** A download failed (network, HTTP status, ...) on every mirror. */
export class DownloadError extends DatasetError {
  readonly urls: string[];
  readonly file: string;
  constructor(message: string, urls: string[], file: string) {
    super(message);
    this.urls = urls;
    this.file = file;
  }
}

/** A downloaded file did not match its embedded checksum on at least one mirror. */
export class ChecksumError extends DownloadError {}
