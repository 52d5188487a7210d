/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key subcommands, one file each (signer/key_NAME.c). */
#ifndef VMSEAL_KEY_CMDS_H
#define VMSEAL_KEY_CMDS_H

int cmd_generate(int argc, char **argv);
int cmd_id(int argc, char **argv);
int cmd_policy_entry(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_rotate(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_destroy(int argc, char **argv);

struct vs_error;
/* The entropy gate of every command that makes a secret: 0 when the kernel's pool is ready;
 * otherwise -1 at once without wait, or after saying on stderr that it waits for it. */
int key_cmd_entropy(int wait, struct vs_error *err);

#endif
