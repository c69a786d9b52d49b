/* signals.h - signal names and numbers (berth-runtime kill, berthd kill/stop/StopSignal) */
#pragma once

/* signal_parse: "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3" -> the number; -EINVAL when unknown */
int signal_parse(const char *s);
