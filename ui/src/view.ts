import type { AppInfo, Language } from './api';

/** What a view gets from the shell. */
export interface Ctx {
  info: AppInfo;
  /** Draws the view again (after its state changed, or in a new language). */
  update(): void;
  /** Loads the strings of `language` and redraws; used by the language pickers before saving. */
  switchLanguage(language: Language): Promise<void>;
}

export interface View {
  /** Builds the whole view from its state. */
  render(): HTMLElement;
  /** The page title's catalogue key. */
  title: string;
  destroy?(): void;
}

export type ViewFactory = (ctx: Ctx) => Promise<View>;
