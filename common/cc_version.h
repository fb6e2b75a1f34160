/* cc_version.h: one version for the daemon, the CLI and the library. */
#ifndef CC_VERSION_H
#define CC_VERSION_H

#define CHITCHATD_VERSION	"0.1.0"

#endif /* CC_VERSION_H */
