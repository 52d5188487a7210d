/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for qcow2_read_header (the input is the image file) and qcow2_backing_path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/qcow2.h"

/* One memfd for the process's life: the reader takes an fd and must use pread. */
static int image_fd(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qcow2_info info;
	struct vs_error err = {0};
	int fd = image_fd();
	char path[VS_MAX_PATH_BYTES];

	if (size > (1u << 20))
		return -1;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size ||
	    lseek(fd, 7, SEEK_SET) != 7)
		abort();
	memset(&info, 0xa5, sizeof(info)); /* the reader must set every field it reports */
	if (qcow2_read_header(fd, "fuzz.qcow2", &info, &err) < 0) {
		if (err.reason[0] == '\0')
			abort();
		return 0;
	}
	if (lseek(fd, 0, SEEK_CUR) != 7)
		abort(); /* pread only: the offset is untouched */
	if (info.format == IMAGE_FORMAT_RAW)
		return 0;
	{
		int has_data = 7;
		struct vs_error e2 = {0};

		if (qcow2_has_data(fd, "fuzz.qcow2", &info, &has_data, &e2) < 0 ? e2.reason[0] == '\0'
										 : (has_data != 0 && has_data != 1))
			abort();
	}
	if (info.format != IMAGE_FORMAT_QCOW2 || (info.version != 2 && info.version != 3) ||
	    (info.incompatible_features & ~QCOW2_INCOMPAT_KNOWN) ||
	    strnlen(info.backing_file, sizeof(info.backing_file)) >= sizeof(info.backing_file) ||
	    strnlen(info.backing_format, sizeof(info.backing_format)) >= sizeof(info.backing_format) ||
	    strnlen(info.data_file, sizeof(info.data_file)) >= sizeof(info.data_file))
		abort();
	if (info.has_backing) {
		if (qcow2_backing_path("/var/lib/images/top.qcow2", info.backing_file, path, sizeof(path),
				       &err) == 0 &&
		    (path[0] != '/' || strnlen(path, sizeof(path)) >= sizeof(path)))
			abort(); /* a resolved backing file is an absolute local path */
	}
	return 0;
}
