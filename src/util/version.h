/* version.h -- the one version string every chatd binary reports. */
#ifndef CHATD_VERSION_H
#define CHATD_VERSION_H

#define CHATD_VERSION "0.1.0"

#endif
