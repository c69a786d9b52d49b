/* ids.c - random ids and Docker-style generated names (our own word lists) */
#include "common/ids.h"
#include "common/xalloc.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static void fill_random(void *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom((char *)p + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      abort(); /* getrandom cannot fail on a kernel that runs containers */
    }
    got += (size_t)r;
  }
}

void id_random(char out[BERTH_ID_LEN + 1]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char raw[32];
  fill_random(raw, sizeof(raw));
  for (size_t i = 0; i < 32; i++) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  out[BERTH_ID_LEN] = '\0';
}

bool id_is_hex(const char *s, size_t n) {
  size_t i = 0;
  for (; s[i]; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return n ? i == n : i > 0;
}

static const char *const adjectives[] = {
    "agile",    "amazing",  "bold",     "brave",    "bright",   "busy",     "calm",     "clever",
    "cool",     "crazy",    "curious",  "daring",   "dazzling", "eager",    "elastic",  "elated",
    "epic",     "festive",  "fervent",  "focused",  "friendly", "gallant",  "gentle",   "gifted",
    "happy",    "hardy",    "hopeful",  "humble",   "inspired", "jolly",    "jovial",   "keen",
    "kind",     "laughing", "lucid",    "lucky",    "merry",    "mighty",   "modest",   "nifty",
    "nimble",   "noble",    "peaceful", "pensive",  "plucky",   "polite",   "proud",    "quick",
    "quiet",    "relaxed",  "serene",   "sharp",    "silly",    "sleepy",   "stoic",    "sunny",
    "swift",    "tender",   "thirsty",  "tidy",     "upbeat",   "vibrant",  "vigilant", "witty",
    "wizardly", "youthful", "zealous",  "zen",
};

/* people of science and computing */
static const char *const surnames[] = {
    "agnesi",    "allen",     "archimedes", "babbage",   "banach",    "bardeen",   "bell",
    "bohr",      "boole",     "borg",       "brahe",     "cannon",    "cerf",      "curie",
    "darwin",    "dijkstra",  "einstein",   "euclid",    "euler",     "faraday",   "fermat",
    "fermi",     "feynman",   "franklin",   "galileo",   "gauss",     "goodall",   "hamilton",
    "hawking",   "heisenberg", "hopper",    "hypatia",   "johnson",   "kepler",    "knuth",
    "lamarr",    "lamport",   "leakey",     "liskov",    "lovelace",  "maxwell",   "mcclintock",
    "meitner",   "mendel",    "mirzakhani", "morse",     "newton",    "nobel",     "noether",
    "pascal",    "pasteur",   "planck",     "ramanujan", "ritchie",   "sammet",    "shannon",
    "thompson",  "tesla",     "torvalds",   "turing",    "volta",     "wilson",    "wing",
    "wozniak",   "wright",    "yalow",
};

void name_random(char *out, size_t size, int retry) {
  uint32_t r[3];
  fill_random(r, sizeof(r));
  const char *a = adjectives[r[0] % ARRAY_SIZE(adjectives)];
  const char *s = surnames[r[1] % ARRAY_SIZE(surnames)];
  if (retry > 0)
    snprintf(out, size, "%s_%s%u", a, s, r[2] % 10);
  else
    snprintf(out, size, "%s_%s", a, s);
}

static bool name_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

bool name_is_valid(const char *name) {
  if (name[0] == '/') name++;
  if (!name[0] || !name[1]) return false;
  for (size_t i = 0; name[i]; i++)
    if (!name_char(name[i], i == 0)) return false;
  return strlen(name) <= 255;
}
