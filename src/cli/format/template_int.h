/* template_int.h - the syntax tree shared by the template parser and its evaluator */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* ------------------------------------------------------------------ syntax tree */

enum opnd_kind { O_DOT, O_FIELD, O_VAR, O_LIT, O_FUNC, O_PIPE };
struct pipeline;

struct operand {
  enum opnd_kind kind;
  char *name;    /* variable ("$" or "$x") or function name */
  char **chain;  /* field names applied after the operand */
  json_t *lit;   /* O_LIT */
  struct pipeline *sub;
};

struct command {
  struct operand *args;
  size_t nargs;
};

struct pipeline {
  char *decl[2];
  int ndecl;
  struct command *cmds;
  size_t ncmds;
};

enum node_kind { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH };
struct node;
struct list {
  struct node *v;
  size_t n;
};
struct node {
  enum node_kind kind;
  char *text;
  struct pipeline *pipe;
  struct list body, els;
};

struct tmpl {
  struct list root;
};

