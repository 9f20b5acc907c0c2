/* benchplot.c - the SVG of `spill bench --plot`: written by hand (axes, ticks, labels,
 * legends) so the command needs no plotting library and any browser shows it. Four
 * charts in two panels: throughput and ratio against level (one line per frame size),
 * then against frame size (one line per level). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { W = 960, H = 760, MAXS = 12, MAXP = 64 };

typedef struct series {
    char label[48];
    double x[MAXP], y[MAXP];
    int n, dashed;
    const char *color;
} series;

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '&') fputs("&amp;", f);
        else if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '"') fputs("&quot;", f);
        else if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
    }
}

static void frame_label(uint64_t fr, char *buf, size_t n)
{
    if (fr >= (1u << 20) && fr % (1u << 20) == 0) snprintf(buf, n, "%lluM", (unsigned long long)(fr >> 20));
    else if (fr >= 1024 && fr % 1024 == 0) snprintf(buf, n, "%lluK", (unsigned long long)(fr >> 10));
    else snprintf(buf, n, "%llu", (unsigned long long)fr);
}

/* A round step (1, 2 or 5 times a power of ten) giving about 5 ticks up to max. */
static double nice_step(double max)
{
    double p = 1, raw = max / 5;
    while (p * 10 <= raw)
        p *= 10;
    while (p > raw)
        p /= 10;
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* log2, exact at powers of two and linear between them: enough to place frame sizes
 * (without libm, which the executable does not otherwise link). */
static double lg2(double x)
{
    double r = 0;
    while (x >= 2)
        x /= 2, r++;
    while (x > 0 && x < 1)
        x *= 2, r--;
    return r + (x - 1);
}

typedef struct axis { double lo, hi; int log2x; } axis;

static double map_x(const axis *a, double x, double px, double pw)
{
    double v = a->log2x ? lg2(x) : x, lo = a->log2x ? lg2(a->lo) : a->lo, hi = a->log2x ? lg2(a->hi) : a->hi;
    return hi > lo ? px + (v - lo) / (hi - lo) * pw : px + pw / 2;
}

/* One chart in the box (bx, by, bw, bh); xt: the tick positions (the measured x values). */
static void chart(FILE *f, double bx, double by, double bw, double bh, const char *title, const char *xlabel,
                  const char *ylabel, int log2x, const double *xt, int nxt, const series *s, int ns)
{
    const double px = bx + 64, py = by + 30, pw = bw - 84, ph = bh - 104;
    axis ax = {xt[0], xt[nxt - 1], log2x};
    double ymax = 0;
    for (int i = 0; i < ns; i++)
        for (int k = 0; k < s[i].n; k++)
            ymax = s[i].y[k] > ymax ? s[i].y[k] : ymax;
    if (ymax <= 0)
        ymax = 1;
    double step = nice_step(ymax * 1.1), ytop = step;
    while (ytop < ymax * 1.1)
        ytop += step;
    fprintf(f, "<g>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\" text-anchor=\"middle\">",
            px + pw / 2, by + 18);
    xml_text(f, title);
    fprintf(f, "</text>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fafafa\" "
               "stroke=\"#333\"/>\n", px, py, pw, ph);
    for (double y = 0; y <= ytop + step / 2; y += step) {
        double yy = py + ph - y / ytop * ph;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g</text>\n",
                px, yy, px + pw, yy, px - 5, yy, px, yy, px - 8, yy + 4, y);
    }
    for (int i = 0; i < nxt; i++) {
        double xx = map_x(&ax, xt[i], px, pw);
        char lab[32];
        if (log2x)
            frame_label((uint64_t)xt[i], lab, sizeof lab);
        else
            snprintf(lab, sizeof lab, "%g", xt[i]);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
                xx, py + ph, xx, py + ph + 5, xx, py + ph + 18, lab);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">", px + pw / 2, py + ph + 36);
    xml_text(f, xlabel);
    fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
               "transform=\"rotate(-90 %.1f %.1f)\">", bx + 16, py + ph / 2, bx + 16, py + ph / 2);
    xml_text(f, ylabel);
    fputs("</text>\n", f);
    for (int i = 0; i < ns; i++) {
        if (s[i].n > 1) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", s[i].color,
                    s[i].dashed ? " stroke-dasharray=\"6 4\"" : "");
            for (int k = 0; k < s[i].n; k++)
                fprintf(f, "%.1f,%.1f ", map_x(&ax, s[i].x[k], px, pw), py + ph - s[i].y[k] / ytop * ph);
            fputs("\"/>\n", f);
        }
        for (int k = 0; k < s[i].n; k++)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", map_x(&ax, s[i].x[k], px, pw),
                    py + ph - s[i].y[k] / ytop * ph, s[i].color);
    }
    /* The legend under the x label, left to right, so it never hides a line. */
    double lx = px, ly = py + ph + 54;
    for (int i = 0; i < ns; i++) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>"
                   "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">",
                lx, ly - 4, lx + 22, ly - 4, s[i].color, s[i].dashed ? " stroke-dasharray=\"6 4\"" : "", lx + 26, ly);
        xml_text(f, s[i].label);
        fputs("</text>\n", f);
        lx += 40 + 7.0 * (double)strlen(s[i].label);
        if (lx > px + pw - 60)
            lx = px, ly += 15;
    }
    fputs("</g>\n", f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The distinct values of one coordinate, sorted. */
static int distinct(const bench_plot_pt *p, int n, int by_level, double *out)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        double v = by_level ? p[i].level : (double)p[i].frame;
        int seen = 0;
        for (int j = 0; j < k; j++)
            seen |= out[j] == v;
        if (!seen && k < MAXP)
            out[k++] = v;
    }
    qsort(out, (size_t)k, sizeof *out, cmp_double);
    return k;
}

/* Series of y (ratio or throughput) against x (level or frame), one per value of the
 * other coordinate. */
static int build(const bench_plot_pt *p, int n, int x_is_level, int want_ratio, series *s)
{
    double groups[MAXP], xs[MAXP];
    int ng = distinct(p, n, !x_is_level, groups), nx = distinct(p, n, x_is_level, xs), ns = 0;
    for (int g = 0; g < ng && ns < MAXS - 1; g++) {
        series *q = &s[ns];
        memset(q, 0, sizeof *q);
        char lab[32];
        if (x_is_level)
            frame_label((uint64_t)groups[g], lab, sizeof lab), snprintf(q->label, sizeof q->label, "frame %s", lab);
        else
            snprintf(q->label, sizeof q->label, "level %g", groups[g]);
        q->color = palette[ns % 8];
        for (int xi = 0; xi < nx; xi++)
            for (int i = 0; i < n; i++) {
                double gv = x_is_level ? (double)p[i].frame : p[i].level;
                double xv = x_is_level ? p[i].level : (double)p[i].frame;
                if (gv == groups[g] && xv == xs[xi] && q->n < MAXP) {
                    q->x[q->n] = xv;
                    q->y[q->n++] = want_ratio ? p[i].ratio : p[i].mb_s;
                    break;
                }
            }
        ns += q->n > 0;
    }
    return ns;
}

int bench_plot_svg(FILE *f, const char *title, const bench_plot_pt *pts, int n, const bench_plot_pt *zstd,
                   int nz)
{
    if (n <= 0)
        return -1;
    static series s[MAXS];
    double lv[MAXP], fr[MAXP];
    int nlv = distinct(pts, n, 1, lv), nfr = distinct(pts, n, 0, fr);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
               "<text x=\"%d\" y=\"24\" font-size=\"17\" text-anchor=\"middle\">", W, H, W, H, W / 2);
    xml_text(f, title);
    fputs("</text>\n", f);
    const double cw = W / 2.0, ch = (H - 40) / 2.0;
    for (int row = 0; row < 2; row++) {
        const int x_is_level = row == 0;
        for (int col = 0; col < 2; col++) {
            const int ratio = col == 1;
            int ns = build(pts, n, x_is_level, ratio, s);
            if (x_is_level && nz > 0 && ns < MAXS) { /* zstd at the same levels, for reference */
                series *z = &s[ns++];
                memset(z, 0, sizeof *z);
                snprintf(z->label, sizeof z->label, "zstd CLI");
                z->color = "#777";
                z->dashed = 1;
                for (int i = 0; i < nz && z->n < MAXP; i++) {
                    z->x[z->n] = zstd[i].level;
                    z->y[z->n++] = ratio ? zstd[i].ratio : zstd[i].mb_s;
                }
            }
            char t[96];
            snprintf(t, sizeof t, "%s against %s", ratio ? "Compression ratio" : "Throughput",
                     x_is_level ? "zstd level" : "frame size");
            chart(f, col * cw, 40 + row * ch, cw, ch, t, x_is_level ? "zstd level" : "frame size (raw bytes per frame)",
                  ratio ? "ratio (payload / stored)" : "MB/s of payload", !x_is_level,
                  x_is_level ? lv : fr, x_is_level ? nlv : nfr, s, ns);
        }
    }
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}
