import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './locales/en.json';
import zhCN from './locales/zh-CN.json';

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

const LANG_KEY = 'baton.lang';

export const resources = { en: { translation: en }, 'zh-CN': { translation: zhCN } } as const;

// Both catalogues are bundled, so initialisation is synchronous and the first
// client render already has its strings (the static export has no server to ask).
void i18next.use(initReactI18next).init({
  resources,
  lng: 'en',
  fallbackLng: 'en',
  supportedLngs: LANGUAGES,
  interpolation: { escapeValue: false },
  initAsync: false,
  returnNull: false,
});

/** The saved choice, else the browser's language (any Chinese variant -> Simplified Chinese). */
export function preferredLanguage(): Language {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && (LANGUAGES as readonly string[]).includes(saved)) return saved as Language;
  return navigator.languages.some((l) => l.toLowerCase().startsWith('zh')) ? 'zh-CN' : 'en';
}

export async function setLanguage(lang: Language) {
  localStorage.setItem(LANG_KEY, lang);
  await i18next.changeLanguage(lang);
  document.documentElement.lang = lang;
}

export { i18next };
