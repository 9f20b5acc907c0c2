/* views.c - see views.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "views.h"

typedef struct vobj {
    spill_views *v;
    void *inner;
    FILE *f;
    char tmp[4200];
    uint64_t bytes;
} vobj;

static int is_text(const char *mime)
{
    return !strncmp(mime, "text/", 5) || !strcmp(mime, "application/json") ||
           strstr(mime, "+json") || strstr(mime, "xml");
}

typedef struct vent { char name[64]; time_t mtime; uint64_t size; } vent;
static int by_age(const void *a, const void *b)
{
    const vent *x = a, *y = b;
    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Totals the views and removes the oldest while over the quota. */
static void enforce_quota(spill_views *v)
{
    DIR *d = opendir(v->dir);
    if (!d)
        return;
    size_t n = 0, cap = 64;
    vent *e = malloc(cap * sizeof *e);
    struct dirent *de;
    uint64_t total = 0;
    while (e && (de = readdir(d)) != NULL) {
        struct stat sb;
        if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof e->name ||
            fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (n == cap) {
            vent *m = realloc(e, (cap *= 2) * sizeof *e);
            if (!m)
                break;
            e = m;
        }
        strcpy(e[n].name, de->d_name);
        e[n].mtime = sb.st_mtime;
        e[n].size = (uint64_t)sb.st_size;
        total += e[n].size;
        n++;
    }
    if (e && total > v->quota) {
        qsort(e, n, sizeof *e, by_age);
        for (size_t i = 0; i < n && total > v->quota; i++)
            if (unlinkat(dirfd(d), e[i].name, 0) == 0)
                total -= e[i].size;
    }
    v->total = total;
    free(e);
    closedir(d);
}

static int v_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    spill_views *v = ctx;
    vobj *o = calloc(1, sizeof *o);
    if (!o)
        return SPILL_E_NOMEM;
    o->v = v;
    int rc = v->inner->begin(v->inner->ctx, &o->inner, pi);
    if (rc) {
        free(o);
        return rc;
    }
    if (v->ok) {
        snprintf(o->tmp, sizeof o->tmp, "%s/.tmp-%ld-%u", v->dir, (long)getpid(), v->counter++);
        int fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        o->f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!o->f && fd >= 0)
            close(fd);
    }
    *obj = o;
    return 0;
}

static int v_write(void *obj, const void *p, size_t n)
{
    vobj *o = obj;
    if (o->f && fwrite(p, 1, n, o->f) != n) { /* a view is a cache: drop it, keep going */
        fclose(o->f);
        o->f = NULL;
        unlink(o->tmp);
    }
    o->bytes += n;
    return o->v->inner->write(o->inner, p, n);
}

static void drop(vobj *o)
{
    if (o->f) {
        fclose(o->f);
        unlink(o->tmp);
    }
    free(o);
}

static int v_commit(void *obj, const char *mime, uint64_t tokens, const char *counter,
                    spill_object_info *info)
{
    vobj *o = obj;
    spill_views *v = o->v;
    int rc = v->inner->commit(o->inner, mime, tokens, counter, info);
    if (rc == 0 && o->f && is_text(info->mime) && o->bytes <= v->quota) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.txt", v->dir, info->id);
        if (fclose(o->f) == 0 && rename(o->tmp, path) == 0) {
            snprintf(info->view, sizeof info->view, "%s", path);
            o->f = NULL;
            if ((v->total += o->bytes) > v->quota)
                enforce_quota(v);
        } else {
            o->f = NULL;
            unlink(o->tmp);
        }
    }
    drop(o);
    return rc;
}

static void v_abort(void *obj)
{
    vobj *o = obj;
    o->v->inner->abort(o->inner);
    drop(o);
}

static const char *v_error(void *ctx)
{
    spill_views *v = ctx;
    return v->inner->last_error ? v->inner->last_error(v->inner->ctx) : NULL;
}

void spill_views_wrap(spill_views *v, const char *store_dir, uint64_t quota,
                      const spill_object_sink *inner, spill_object_sink *outer)
{
    memset(v, 0, sizeof *v);
    snprintf(v->dir, sizeof v->dir, "%s/views", store_dir);
    v->quota = quota;
    v->inner = inner;
    v->ok = (mkdir(v->dir, 0700) == 0 || errno == EEXIST);
    if (v->ok)
        enforce_quota(v);
    outer->ctx = v;
    outer->begin = v_begin;
    outer->write = v_write;
    outer->commit = v_commit;
    outer->abort = v_abort;
    outer->last_error = v_error;
}
