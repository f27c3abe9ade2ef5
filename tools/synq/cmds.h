/* Subcommands of the synq CLI: int cmd_NAME(int argc, char **argv), argv[0] = NAME. */
#ifndef SYNQ_TOOLS_CMDS_H
#define SYNQ_TOOLS_CMDS_H
int cmd_lab(int argc, char **argv);
int cmd_cookie(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_ss(int argc, char **argv);
int cmd_nstat(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_drill(int argc, char **argv);
#endif
