import { execFileSync } from 'node:child_process';

/**
 * Whether Chromium can draw Chinese here (fontconfig knows a font for zh). Only the screenshots of Chinese
 * pages depend on it: docs, written where the font is installed (`apt-get install fonts-noto-cjk`); the
 * tests themselves run the same with or without it, so CI needs no font.
 */
export const haveCjkFont = (() => {
  try {
    return execFileSync('fc-list', [':lang=zh', 'family'], { encoding: 'utf8', timeout: 5000 }).trim().length > 0;
  } catch {
    return false;
  }
})();
