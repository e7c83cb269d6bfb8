/* ==== [01] COMPAT: syscalls musl lacks, kernel interfaces ====
 * musl 1.2.3 has no wrappers for openat2, statx (mount ids) or close_range; they
 * are called directly. Each wrapper reports ENOSYS on kernels without the call
 * so callers can fall back. */

#ifndef RESOLVE_NO_XDEV
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#endif

struct compat_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

/* Remembered after the first ENOSYS so the fallback is not retried each time. */
static int compat_no_openat2;

static int compat_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
#ifdef SYS_openat2
	if (!compat_no_openat2) {
		struct compat_open_how how = { (uint64_t)(unsigned)flags, mode, resolve };
		long r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
		if (r >= 0 || errno != ENOSYS)
			return (int)r;
		compat_no_openat2 = 1;
	}
#else
	(void)dirfd; (void)path; (void)flags; (void)mode; (void)resolve;
#endif
	errno = ENOSYS;
	return -1;
}

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
/* Only the fields minirun reads; the kernel writes a 256-byte struct statx. */
struct compat_statx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, pad1;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	uint64_t times[8];
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t stx_mnt_id;
	uint64_t spare[13];
};

/* Mount id of an fd (or of name in dirfd), 0 when the kernel cannot tell:
 * callers then compare st_dev, which misses bind mounts of the same
 * filesystem. statx (5.8+) first; then name_to_handle_at, which reports the
 * mount id even when the handle does not fit (kernels since 2.6.39; also
 * where statx claims a mount id but writes 0, as qemu-user 7.2 does). */
static uint64_t compat_mount_id(int dirfd, const char *name)
{
	struct compat_statx sx;
	struct { unsigned int bytes; int type; } handle = { 0, 0 };
	int flags = AT_SYMLINK_NOFOLLOW | (name && *name ? 0 : AT_EMPTY_PATH);
	int mnt = 0;
	memset(&sx, 0, sizeof sx);
	if (syscall(SYS_statx, dirfd, name && *name ? name : "", flags, STATX_MNT_ID, &sx) == 0 &&
	    (sx.stx_mask & STATX_MNT_ID) && sx.stx_mnt_id)
		return sx.stx_mnt_id;
	if ((syscall(SYS_name_to_handle_at, dirfd, name && *name ? name : "", &handle, &mnt,
		     flags & AT_EMPTY_PATH) == 0 || errno == EOVERFLOW) && mnt > 0)
		return (uint64_t)mnt;
	return 0;
}

static int compat_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}
