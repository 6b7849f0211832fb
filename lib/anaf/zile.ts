/** ANAF's Zile: `N` days (1–999) or `XX/24` hours (1–24), at most 5 characters. */
export const ZILE_PATTERN = /^(?:[1-9][0-9]{0,2}|(?:[1-9]|1[0-9]|2[0-4])\/24)$/;
