// ICU from Debian's libicu-dev: word break iterator and case folding.
//
// Two problems make the plain ICU headers unusable from Swift here:
// 1. ICU renames every C symbol with its version through macros (ubrk_open -> ubrk_open_72), which Swift's
//    importer cannot follow;
// 2. Foundation ships its own ICU (module _FoundationICU, a newer version) whose `enum UErrorCode` differs
//    from the system one, so importing both sets of type declarations fails to build.
// So this header includes only <unicode/uvernum.h> (macros, no types), declares the few ICU functions it needs
// with ABI-identical plain C types under their versioned names (U_ICU_ENTRY_POINT_RENAME), and wraps them in
// `static inline paml_*` functions with stable names. UChar is uint16_t, UErrorCode and enums are int32_t
// (C enums are int-sized), UChar32 is int32_t. Errors come back as an int32 UErrorCode (> 0 means failure).
#include <stdint.h>
#include <unicode/uvernum.h>

typedef struct paml_UBreakIterator paml_UBreakIterator;
typedef struct paml_UNormalizer2 paml_UNormalizer2;

#define PAML_ICU(name) U_ICU_ENTRY_POINT_RENAME(name)
paml_UBreakIterator *PAML_ICU(ubrk_open)(int32_t type, const char *locale, const uint16_t *text, int32_t textLength, int32_t *status);
int32_t PAML_ICU(ubrk_first)(paml_UBreakIterator *bi);
int32_t PAML_ICU(ubrk_next)(paml_UBreakIterator *bi);
int32_t PAML_ICU(ubrk_getRuleStatus)(paml_UBreakIterator *bi);
void PAML_ICU(ubrk_close)(paml_UBreakIterator *bi);
const paml_UNormalizer2 *PAML_ICU(unorm2_getNFKCCasefoldInstance)(int32_t *status);
int32_t PAML_ICU(unorm2_normalize)(const paml_UNormalizer2 *norm2, const uint16_t *src, int32_t length, uint16_t *dest, int32_t capacity, int32_t *status);
int8_t PAML_ICU(u_isUWhiteSpace)(int32_t c);
const char *PAML_ICU(u_errorName)(int32_t code);

/// UBRK_WORD in ubrk.h; UBRK_DONE is -1; U_BUFFER_OVERFLOW_ERROR is 15.
enum { PAML_UBRK_WORD = 1, PAML_UBRK_DONE = -1, PAML_U_BUFFER_OVERFLOW_ERROR = 15 };

/// A word-break iterator (UAX #29 rules, English locale) over `text[0..<length]`; NULL on failure.
/// The text must stay alive until `paml_ubrk_close`.
static inline paml_UBreakIterator *paml_ubrk_open_word(const uint16_t *text, int32_t length, int32_t *status) {
    *status = 0;
    paml_UBreakIterator *iterator = PAML_ICU(ubrk_open)(PAML_UBRK_WORD, "en_US", text, length, status);
    return *status > 0 ? 0 : iterator;
}
static inline int32_t paml_ubrk_first(paml_UBreakIterator *iterator) { return PAML_ICU(ubrk_first)(iterator); }
/// The next boundary, or PAML_UBRK_DONE.
static inline int32_t paml_ubrk_next(paml_UBreakIterator *iterator) { return PAML_ICU(ubrk_next)(iterator); }
/// Rule status of the segment ending at the current boundary: < 100 (UBRK_WORD_NONE_LIMIT) for spaces and
/// punctuation, 100..<200 numbers, 200..<300 letters, higher for kana and ideographs.
static inline int32_t paml_ubrk_rule_status(paml_UBreakIterator *iterator) { return PAML_ICU(ubrk_getRuleStatus)(iterator); }
static inline void paml_ubrk_close(paml_UBreakIterator *iterator) { PAML_ICU(ubrk_close)(iterator); }

/// NFKC_Casefold(src) into dest: compatibility normalisation, full Unicode case folding, removal of
/// default-ignorable code points. Returns the needed length; *status is PAML_U_BUFFER_OVERFLOW_ERROR when
/// `capacity` is too small.
static inline int32_t paml_nfkc_casefold(const uint16_t *src, int32_t length, uint16_t *dest, int32_t capacity, int32_t *status) {
    *status = 0;
    const paml_UNormalizer2 *normalizer = PAML_ICU(unorm2_getNFKCCasefoldInstance)(status);
    if (*status > 0) return 0;
    return PAML_ICU(unorm2_normalize)(normalizer, src, length, dest, capacity, status);
}

/// Unicode White_Space property of a code point.
static inline int paml_u_is_white_space(int32_t c) { return PAML_ICU(u_isUWhiteSpace)(c) != 0; }
static inline const char *paml_u_error_name(int32_t status) { return PAML_ICU(u_errorName)(status); }
