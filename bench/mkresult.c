/* mkresult [text|image] [ID] - wraps stdin into one MCP tools/call result line on
 * stdout, streaming in bounded memory: text as content[0].text (JSON-escaped), image
 * as content[0].data (base64, image/png). Used by tests and benchmarks to make
 * results of any size without holding them. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned char in[1 << 16];
static char out[1 << 19];
static size_t on;

static void flush(void)
{
    if (on && fwrite(out, 1, on, stdout) != on) {
        perror("mkresult: write");
        _exit(1);
    }
    on = 0;
}

static void emit(const char *s, size_t n)
{
    if (on + n > sizeof out)
        flush();
    memcpy(out + on, s, n);
    on += n;
}

int main(int argc, char **argv)
{
    int image = argc > 1 && !strcmp(argv[1], "image");
    const char *id = argc > 2 ? argv[2] : "1";
    char head[256];
    snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"%s\",\"%s\":\"",
             id, image ? "image" : "text", image ? "data" : "text");
    emit(head, strlen(head));
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char carry[3];
    size_t nc = 0;
    ssize_t n;
    while ((n = read(0, in, sizeof in)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            unsigned char c = in[i];
            if (image) {
                carry[nc++] = c;
                if (nc == 3) {
                    char q[4] = {b64[carry[0] >> 2], b64[(carry[0] & 3) << 4 | carry[1] >> 4],
                                 b64[(carry[1] & 15) << 2 | carry[2] >> 6], b64[carry[2] & 63]};
                    emit(q, 4);
                    nc = 0;
                }
            } else if (c == '"' || c == '\\') {
                char e[2] = {'\\', (char)c};
                emit(e, 2);
            } else if (c < 0x20) {
                char e[8];
                int k = c == '\n' ? snprintf(e, sizeof e, "\\n") : c == '\t' ? snprintf(e, sizeof e, "\\t")
                                                                  : snprintf(e, sizeof e, "\\u%04x", c);
                emit(e, (size_t)k);
            } else {
                emit((const char *)&c, 1);
            }
        }
    }
    if (n < 0) {
        perror("mkresult: read");
        return 1;
    }
    if (nc) {
        unsigned char a = carry[0], b = nc > 1 ? carry[1] : 0;
        char q[4] = {b64[a >> 2], b64[(a & 3) << 4 | b >> 4], nc > 1 ? b64[(b & 15) << 2] : '=', '='};
        emit(q, 4);
    }
    const char *tail = image ? "\",\"mimeType\":\"image/png\"}]}}\n" : "\"}]}}\n";
    emit(tail, strlen(tail));
    flush();
    return fflush(stdout) ? 1 : 0;
}
