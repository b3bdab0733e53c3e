/*
 * labkit.native._cframes: the Python face of lk_frames.
 *
 * It offers exactly the kernel functions of the NumPy twin (see labkit/native/_select.py):
 * decode_tables, decode_batch_tables, recompose and preview. Argument checking happens in the
 * shared Python fronts; the checks here only guard memory safety. The record layouts are
 * imported from labkit.native._layout and checked against the C structs on import.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <string.h>

#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#include <numpy/arrayobject.h>

#include "lk_frames.h"

static PyObject *frame_format_error; /* labkit.core.FrameFormatError */
static PyObject *header_dtype;       /* labkit.native._layout.HEADER_DTYPE */
static PyObject *roi_dtype;          /* labkit.native._layout.ROI_DTYPE */

typedef struct {
    const char *name;
    size_t offset, size;
} field_layout;

#define FIELD(type, name) {#name, offsetof(type, name), sizeof(((type *)0)->name)}

static const field_layout header_fields[] = {
    FIELD(lk_header, ts_bof), FIELD(lk_header, ts_eof), FIELD(lk_header, exposure),
    FIELD(lk_header, nbytes), FIELD(lk_header, frame_nr), FIELD(lk_header, ts_res_ns),
    FIELD(lk_header, exp_res_ns), FIELD(lk_header, roi_ts_res_ns), FIELD(lk_header, particle_id),
    FIELD(lk_header, m0), FIELD(lk_header, m2), FIELD(lk_header, roi_count),
    FIELD(lk_header, decoded_count), FIELD(lk_header, ext_md_size), FIELD(lk_header, implied_s1),
    FIELD(lk_header, implied_s2), FIELD(lk_header, implied_sbin), FIELD(lk_header, implied_p1),
    FIELD(lk_header, implied_p2), FIELD(lk_header, implied_pbin), FIELD(lk_header, version),
    FIELD(lk_header, bit_depth), FIELD(lk_header, color_mask), FIELD(lk_header, flags),
    FIELD(lk_header, image_format), FIELD(lk_header, image_compression),
    FIELD(lk_header, ext_mask), {"_pad", offsetof(lk_header, pad), sizeof(((lk_header *)0)->pad)},
    {NULL, 0, 0}};

static const field_layout roi_fields[] = {
    FIELD(lk_roi, header_offset), FIELD(lk_roi, data_offset), FIELD(lk_roi, data_size),
    FIELD(lk_roi, width), FIELD(lk_roi, height), FIELD(lk_roi, ts_bor), FIELD(lk_roi, ts_eor),
    FIELD(lk_roi, particle_id), FIELD(lk_roi, m0), FIELD(lk_roi, m2), FIELD(lk_roi, roi_data_size),
    FIELD(lk_roi, roi_nr), FIELD(lk_roi, s1), FIELD(lk_roi, s2), FIELD(lk_roi, sbin),
    FIELD(lk_roi, p1), FIELD(lk_roi, p2), FIELD(lk_roi, pbin), FIELD(lk_roi, ext_md_size),
    FIELD(lk_roi, flags), FIELD(lk_roi, ext_mask),
    {"_pad", offsetof(lk_roi, pad), sizeof(((lk_roi *)0)->pad)}, {NULL, 0, 0}};

/* {name: (offset, size)} of a C struct, for the layout test and the import check. */
static PyObject *layout_dict(const field_layout *fields)
{
    PyObject *dict = PyDict_New();
    for (const field_layout *f = fields; dict && f->name; f++) {
        PyObject *value = Py_BuildValue("(nn)", (Py_ssize_t)f->offset, (Py_ssize_t)f->size);
        if (!value || PyDict_SetItemString(dict, f->name, value)) {
            Py_XDECREF(value);
            Py_CLEAR(dict);
            break;
        }
        Py_DECREF(value);
    }
    return dict;
}

/* Raise RuntimeError unless `dtype` has every field of `fields` at the same offset and size. */
static int check_layout(PyObject *dtype, const field_layout *fields, size_t struct_size,
                        const char *what)
{
    PyObject *itemsize = PyObject_GetAttrString(dtype, "itemsize");
    PyObject *dfields = PyObject_GetAttrString(dtype, "fields");
    int ok = itemsize && dfields && PyLong_AsSsize_t(itemsize) == (Py_ssize_t)struct_size;
    size_t count = 0;
    for (const field_layout *f = fields; ok && f->name; f++, count++) {
        PyObject *entry = PyMapping_GetItemString(dfields, f->name); /* (dtype, offset) */
        ok = entry != NULL;
        if (ok) {
            PyObject *sub = PyTuple_GetItem(entry, 0);
            PyObject *sub_size = sub ? PyObject_GetAttrString(sub, "itemsize") : NULL;
            ok = sub_size && PyLong_AsSsize_t(PyTuple_GetItem(entry, 1)) == (Py_ssize_t)f->offset &&
                 PyLong_AsSsize_t(sub_size) == (Py_ssize_t)f->size;
            Py_XDECREF(sub_size);
        }
        Py_XDECREF(entry);
    }
    ok = ok && PyMapping_Size(dfields) == (Py_ssize_t)count;
    Py_XDECREF(itemsize);
    Py_XDECREF(dfields);
    if (!ok) {
        PyErr_Clear();
        PyErr_Format(PyExc_RuntimeError,
                     "labkit.native._layout.%s does not match the C struct the extension was "
                     "built with; rebuild it (pip install -e .)",
                     what);
        return -1;
    }
    return 0;
}

static PyObject *raise_format_error(const char *message, uint64_t offset)
{
    PyObject *args = Py_BuildValue("(s)", message);
    PyObject *kwargs = Py_BuildValue("{s:K}", "offset", (unsigned long long)offset);
    PyObject *error = args && kwargs ? PyObject_Call(frame_format_error, args, kwargs) : NULL;
    if (error) {
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
    }
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    return NULL;
}

static PyObject *records(PyObject *dtype, const void *data, size_t count, size_t size)
{
    npy_intp dims[1] = {(npy_intp)count};
    PyArray_Descr *descr = (PyArray_Descr *)dtype; /* a numpy.dtype (checked on import) */
    Py_INCREF(descr);                              /* stolen by PyArray_NewFromDescr */
    PyObject *array = PyArray_NewFromDescr(&PyArray_Type, descr, 1, dims, NULL, NULL, 0, NULL);
    if (array && count)
        memcpy(PyArray_DATA((PyArrayObject *)array), data, count * size);
    return array;
}

/* Decode one frame into (header array, table array); on a format error fill `err`, return 1. */
static int decode_one(const uint8_t *buf, size_t n, int format_override, PyObject **result,
                      lk_error *err)
{
    enum { STACK_ROIS = 16 };
    lk_roi stack[STACK_ROIS];
    lk_header header;
    size_t cap = lk_roi_capacity(buf, n);
    lk_roi *rois = cap <= STACK_ROIS ? stack : PyMem_Malloc(cap * sizeof(lk_roi));
    *result = NULL;
    if (!rois) {
        PyErr_NoMemory();
        return -1;
    }
    int failed = lk_decode(buf, n, format_override, &header, rois, cap, err);
    if (!failed) {
        PyObject *h = records(header_dtype, &header, 1, sizeof header);
        PyObject *t = h ? records(roi_dtype, rois, header.decoded_count, sizeof(lk_roi)) : NULL;
        *result = t ? PyTuple_Pack(2, h, t) : NULL;
        Py_XDECREF(h);
        Py_XDECREF(t);
    }
    if (rois != stack)
        PyMem_Free(rois);
    return failed ? 1 : (*result ? 0 : -1);
}

static PyObject *decode_tables(PyObject *self, PyObject *args)
{
    Py_buffer view;
    int format_override = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*|i", &view, &format_override))
        return NULL;
    PyObject *result = NULL;
    lk_error err;
    int status = decode_one(view.buf, (size_t)view.len, format_override, &result, &err);
    PyBuffer_Release(&view);
    if (status == 1)
        return raise_format_error(err.message, err.offset);
    return result;
}

static PyObject *decode_batch_tables(PyObject *self, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t stride;
    PyObject *slots;
    int format_override = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nO|i", &view, &stride, &slots, &format_override))
        return NULL;
    PyObject *seq = PySequence_Fast(slots, "slots must be a sequence of slot numbers");
    PyObject *out = seq ? PyList_New(0) : NULL;
    Py_ssize_t count = seq ? PySequence_Fast_GET_SIZE(seq) : 0;
    for (Py_ssize_t i = 0; out && i < count; i++) {
        Py_ssize_t slot = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(seq, i));
        if (slot == -1 && PyErr_Occurred()) {
            Py_CLEAR(out);
            break;
        }
        if (stride < 1 || slot < 0 || slot >= view.len / stride) {
            PyErr_Format(PyExc_ValueError, "slot %zd with stride %zd lies outside the buffer", slot,
                         stride);
            Py_CLEAR(out);
            break;
        }
        size_t base = (size_t)slot * (size_t)stride;
        PyObject *tables = NULL;
        lk_error err;
        int status = decode_one((const uint8_t *)view.buf + base, (size_t)stride, format_override,
                                &tables, &err);
        if (status == 1) {
            char message[LK_MESSAGE_SIZE + 64];
            snprintf(message, sizeof message, "slot %zd (offset %zu): %s", slot, base, err.message);
            raise_format_error(message, base + err.offset);
        }
        if (status != 0 || PyList_Append(out, tables)) {
            Py_XDECREF(tables);
            Py_CLEAR(out);
            break;
        }
        Py_DECREF(tables);
    }
    Py_XDECREF(seq);
    PyBuffer_Release(&view);
    return out;
}

static int is_plain_2d(PyArrayObject *a, int writeable)
{
    if (PyArray_NDIM(a) != 2 || !PyArray_ISNOTSWAPPED(a) || !PyArray_ISALIGNED(a) ||
        (writeable && !PyArray_ISWRITEABLE(a)))
        return 0;
    if (PyArray_SIZE(a) == 0) /* nothing is read or written; numpy gives such arrays 0 strides */
        return 1;
    return (PyArray_DIM(a, 1) <= 1 || PyArray_STRIDE(a, 1) == PyArray_ITEMSIZE(a)) &&
           (PyArray_DIM(a, 0) <= 1 || PyArray_STRIDE(a, 0) > 0);
}

/* A writeable image of pixels: 2-D (h, w), or 3-D (h, w, channels) with contiguous pixels. */
static int is_image(PyArrayObject *a)
{
    int nd = PyArray_NDIM(a);
    if (nd == 2)
        return is_plain_2d(a, 1);
    if (nd != 3 || !PyArray_ISNOTSWAPPED(a) || !PyArray_ISALIGNED(a) || !PyArray_ISWRITEABLE(a))
        return 0;
    if (PyArray_SIZE(a) == 0)
        return 1;
    npy_intp item = PyArray_ITEMSIZE(a), pixel = item * PyArray_DIM(a, 2);
    return (PyArray_DIM(a, 2) <= 1 || PyArray_STRIDE(a, 2) == item) &&
           (PyArray_DIM(a, 1) <= 1 || PyArray_STRIDE(a, 1) == pixel) &&
           (PyArray_DIM(a, 0) <= 1 || PyArray_STRIDE(a, 0) > 0);
}

static PyObject *recompose(PyObject *self, PyObject *args)
{
    Py_buffer view;
    PyArrayObject *table, *out;
    Py_ssize_t origin_x, origin_y, off_x, off_y;
    PyObject *fill;
    int threads, wire;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*O!O!(nn)(nn)Oii", &view, &PyArray_Type, &table, &PyArray_Type,
                          &out, &origin_x, &origin_y, &off_x, &off_y, &fill, &threads, &wire))
        return NULL;
    PyObject *result = NULL;
    lk_place stack[32], *places = stack;
    unsigned long fill_value = 0;
    int has_fill = fill != Py_None;
    if (has_fill) {
        fill_value = PyLong_AsUnsignedLong(fill);
        if (PyErr_Occurred())
            goto done;
    }
    if (!is_image(out) || fill_value > 0xFFFFFFFFul) {
        PyErr_SetString(PyExc_ValueError,
                        "out must be a writeable 2-D or 3-D array with contiguous rows of pixels");
        goto done;
    }
    if (PyArray_NDIM(table) != 1 || !PyArray_IS_C_CONTIGUOUS(table) || !PyArray_ISALIGNED(table) ||
        PyObject_RichCompareBool((PyObject *)PyArray_DESCR(table), roi_dtype, Py_EQ) != 1) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "table must be a contiguous array of ROI records");
        goto done;
    }
    if (origin_x < 0 || origin_y < 0 || off_x < 0 || off_y < 0) {
        PyErr_SetString(PyExc_ValueError, "origin and offset must not be negative");
        goto done;
    }
    size_t n = (size_t)PyArray_DIM(table, 0);
    if (n > sizeof stack / sizeof *stack && !(places = PyMem_Malloc(n * sizeof *places))) {
        PyErr_NoMemory();
        goto done;
    }
    size_t placed = 0, bad = 0;
    int status = lk_place_rois(PyArray_DATA(table), n, (uint64_t)origin_x, (uint64_t)origin_y,
                               (uint64_t)off_x, (uint64_t)off_y, (size_t)PyArray_DIM(out, 1),
                               (size_t)PyArray_DIM(out, 0), places, &placed, &bad);
    if (status != LK_PLACE_OK) {
        result = Py_BuildValue("(in)", status, (Py_ssize_t)bad);
        goto done;
    }
    lk_error err;
    int failed;
    Py_BEGIN_ALLOW_THREADS
    lk_pixel pixel = {(unsigned)PyArray_ITEMSIZE(out),
                      PyArray_NDIM(out) == 3 ? (unsigned)PyArray_DIM(out, 2) : 1u,
                      wire > 0 ? (unsigned)wire : 0u};
    failed = lk_recompose(view.buf, (size_t)view.len, (uint8_t *)PyArray_BYTES(out),
                          (size_t)PyArray_DIM(out, 0), (size_t)PyArray_DIM(out, 1),
                          PyArray_STRIDE(out, 0), &pixel, places, placed, has_fill,
                          (uint32_t)fill_value, threads, &err);
    Py_END_ALLOW_THREADS
    if (failed)
        PyErr_SetString(PyExc_ValueError, err.message);
    else
        result = Py_BuildValue("(in)", LK_PLACE_OK, (Py_ssize_t)0);
done:
    if (places != stack)
        PyMem_Free(places);
    PyBuffer_Release(&view);
    return result;
}

static PyObject *preview(PyObject *self, PyObject *args)
{
    PyArrayObject *image, *lut, *out;
    Py_ssize_t fy, fx;
    int binning, contrast, threads;
    unsigned long long a, b;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!nniiKKO!O!i", &PyArray_Type, &image, &fy, &fx, &binning,
                          &contrast, &a, &b, &PyArray_Type, &lut, &PyArray_Type, &out, &threads))
        return NULL;
    int type = PyArray_TYPE(image);
    if (!is_plain_2d(image, 0) || (type != NPY_UINT8 && type != NPY_UINT16 && type != NPY_UINT32)) {
        PyErr_SetString(PyExc_ValueError, "image must be an aligned 2-D uint8/16/32 array with contiguous rows");
        return NULL;
    }
    if (!is_plain_2d(out, 1) || PyArray_TYPE(out) != NPY_UINT8) {
        PyErr_SetString(PyExc_ValueError, "out must be a writeable 2-D uint8 array with contiguous rows");
        return NULL;
    }
    if (PyArray_TYPE(lut) != NPY_UINT8 || PyArray_NDIM(lut) != 1 || !PyArray_IS_C_CONTIGUOUS(lut)) {
        PyErr_SetString(PyExc_ValueError, "lut must be a contiguous 1-D uint8 array");
        return NULL;
    }
    if (fy < 1 || fx < 1) {
        PyErr_SetString(PyExc_ValueError, "bin factors must be positive");
        return NULL;
    }
    lk_preview_job job = {
        .image = (const uint8_t *)PyArray_BYTES(image),
        .image_stride = PyArray_STRIDE(image, 0),
        .height = (size_t)PyArray_DIM(image, 0),
        .width = (size_t)PyArray_DIM(image, 1),
        .itemsize = (unsigned)PyArray_ITEMSIZE(image),
        .fy = (size_t)fy,
        .fx = (size_t)fx,
        .binning = binning,
        .contrast = contrast,
        .a = a,
        .b = b,
        .lut = (const uint8_t *)PyArray_DATA(lut),
        .lut_size = (size_t)PyArray_DIM(lut, 0),
        .out = (uint8_t *)PyArray_BYTES(out),
        .out_stride = PyArray_STRIDE(out, 0),
        .oh = (size_t)PyArray_DIM(out, 0),
        .ow = (size_t)PyArray_DIM(out, 1),
        .threads = threads,
    };
    lk_error err;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = lk_preview(&job, &err);
    Py_END_ALLOW_THREADS
    if (status) {
        PyErr_SetString(PyExc_ValueError, err.message);
        return NULL;
    }
    return Py_BuildValue("(KK)", (unsigned long long)job.lo, (unsigned long long)job.hi);
}

static PyObject *record_layout(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyObject *header = layout_dict(header_fields);
    PyObject *roi = header ? layout_dict(roi_fields) : NULL;
    PyObject *result = roi ? Py_BuildValue("{s:O,s:O}", "header", header, "roi", roi) : NULL;
    Py_XDECREF(header);
    Py_XDECREF(roi);
    return result;
}

static PyMethodDef methods[] = {
    {"decode_tables", decode_tables, METH_VARARGS,
     "decode_tables(buffer, format_override=-1) -> (header, table): walk one metadata frame."},
    {"decode_batch_tables", decode_batch_tables, METH_VARARGS,
     "decode_batch_tables(buffer, stride, slots, format_override=-1) -> [(header, table), ...]"},
    {"recompose", recompose, METH_VARARGS,
     "recompose(buffer, table, out, origin, offset, fill, threads, wire) -> (status, index): "
     "place and copy ROIs into out (GIL released); wire: bytes of a sample in the frame; "
     "status 1: mixed binning, 2: an ROI outside out."},
    {"preview", preview, METH_VARARGS,
     "preview(image, fy, fx, binning, contrast, a, b, lut, out, threads) -> (lo, hi)."},
    {"record_layout", record_layout, METH_NOARGS,
     "record_layout() -> {'header': {field: (offset, size)}, 'roi': {...}} of the C structs."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cframes",
                                    "labkit's C frame kernels (see labkit.native).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__cframes(void)
{
    import_array();
    PyObject *core = PyImport_ImportModule("labkit.core");
    PyObject *layout = core ? PyImport_ImportModule("labkit.native._layout") : NULL;
    if (!layout) {
        Py_XDECREF(core);
        return NULL;
    }
    frame_format_error = PyObject_GetAttrString(core, "FrameFormatError");
    header_dtype = PyObject_GetAttrString(layout, "HEADER_DTYPE");
    roi_dtype = PyObject_GetAttrString(layout, "ROI_DTYPE");
    Py_DECREF(core);
    Py_DECREF(layout);
    if (header_dtype && roi_dtype &&
        (!PyArray_DescrCheck(header_dtype) || !PyArray_DescrCheck(roi_dtype))) {
        PyErr_SetString(PyExc_RuntimeError, "labkit.native._layout dtypes are not numpy.dtype");
        return NULL;
    }
    if (!frame_format_error || !header_dtype || !roi_dtype ||
        check_layout(header_dtype, header_fields, sizeof(lk_header), "HEADER_DTYPE") ||
        check_layout(roi_dtype, roi_fields, sizeof(lk_roi), "ROI_DTYPE"))
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddStringConstant(m, "name", "c")) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
