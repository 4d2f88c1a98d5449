import { merchantLocale, merchantWords } from './merchant-text';

describe('merchantLocale', () => {
  it('picks zh-CN or en by quality, English when neither is asked for', () => {
    expect(merchantLocale('zh-CN,zh;q=0.9,en;q=0.8')).toBe('zh-CN');
    expect(merchantLocale('zh-TW')).toBe('zh-CN');
    expect(merchantLocale('en-US,en;q=0.9,zh-CN;q=0.8')).toBe('en');
    expect(merchantLocale('fr;q=1, zh;q=0.4, en;q=0.3')).toBe('zh-CN');
    expect(merchantLocale('zh;q=0, en;q=0.1')).toBe('en');
    expect(merchantLocale('fr-FR')).toBe('en');
    expect(merchantLocale(undefined)).toBe('en');
  });

  it('has every merchant problem in both languages, without protocol words', () => {
    for (const locale of ['zh-CN', 'en'] as const) {
      for (const [problem, words] of Object.entries(merchantWords(locale).problems)) {
        expect(`${problem}: ${words.title} ${words.message(10)}`).not.toMatch(/state|parameter|app_auth_code|auth_code|token/i);
      }
    }
    expect(Object.keys(merchantWords('zh-CN').problems).sort()).toEqual(Object.keys(merchantWords('en').problems).sort());
  });
});
