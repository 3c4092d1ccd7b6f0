// @ts-check
// The desk's opening hours (welcome.desk.hours) in the reader's language:
// "Monday to Friday, 08:00–18:00; Saturday, 09:00–12:30". Day names come from the
// browser (Intl), so every catalogue language gets them right without a list here.

// 1 January 2024 was a Monday: day d (0 = Monday) is 1 + d January 2024.
/**
 * @param {number} day
 * @param {string} lang
 */
function dayName(day, lang) {
  const date = new Date(Date.UTC(2024, 0, 1 + day, 12));
  return new Intl.DateTimeFormat(lang, { weekday: "long", timeZone: "UTC" }).format(date);
}

/**
 * @param {{periods: {days: number[], start: string, end: string}[]}} hours
 * @param {string} lang
 * @param {(key: string, params?: import("./i18n.js").Params) => string} t  the catalogue lookup
 */
export function hoursText(hours, lang, t) {
  return hours.periods
    .map((period) => {
      const first = period.days[0];
      const last = period.days[period.days.length - 1];
      const days =
        period.days.length === 1
          ? dayName(first, lang)
          : t("hours.range", { first: dayName(first, lang), last: dayName(last, lang) });
      return t("hours.period", { days, start: period.start, end: period.end });
    })
    .join("; ");
}
