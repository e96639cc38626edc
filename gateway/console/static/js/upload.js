// Uploads with Uppy (vendor/uppy.min.mjs): its Dashboard (drag-and-drop, progress, pause,
// resume, cancel) and its AwsS3 plugin over S3 multipart, every request (create, each
// part, complete, abort) presigned by the gateway for the signed-in key.
//
// Resume after a reload is Uppy's GoldenRetriever: it keeps the upload's state (each
// file's multipart upload id and key) in IndexedDB, and the file's bytes too up to
// RESTORE_MAX_FILE; after a reload the AwsS3 plugin asks ListParts what the server has
// and sends only the missing parts of the same multipart upload. A larger file comes back
// as a "ghost" the Dashboard asks to be selected again, then resumes the same way.
import { Uppy, Dashboard, AwsS3, GoldenRetriever } from '../vendor/uppy.min.mjs';
import { presign, uploadErrorWords } from './api.js';

const MIB = 1024 * 1024;
const PART_SIZE = 5 * MIB; // S3's smallest part but the last
const RESTORE_MAX_FILE = 64 * MIB; // bytes kept in IndexedDB per file, for a reload
const RESTORE_MAX_TOTAL = 512 * MIB;

// Uppy's key for a file is "<bucket>/<object key>": a bucket name has no "/", so every
// request it signs names its bucket even if the page has moved to another one meanwhile.
function splitKey(uppyKey) {
  const slash = uppyKey.indexOf('/');
  return [uppyKey.slice(0, slash), uppyKey.slice(slash + 1)];
}

function operationOf(request) {
  if (request.uploadId === undefined || request.uploadId === null) {
    return { PUT: 'PutObject', POST: 'CreateMultipartUpload', DELETE: 'DeleteObject' }[request.method];
  }
  if (request.partNumber !== undefined && request.partNumber !== null) return 'UploadPart';
  return { GET: 'ListParts', POST: 'CompleteMultipartUpload', DELETE: 'AbortMultipartUpload' }[request.method];
}

async function signRequest(request) {
  const [bucket, key] = splitKey(request.key);
  const params = {};
  if (request.uploadId) params.uploadId = request.uploadId;
  if (request.partNumber) params.partNumber = String(request.partNumber);
  const { url } = await presign(operationOf(request), bucket, key, params);
  // Absolute: after a single PUT, Uppy reads the object's location with new URL(url).
  return { url: new URL(url, window.location.origin).href };
}

export function createUploader(target, { location, onProgress, onUploaded, onError }) {
  const uppy = new Uppy({ id: 'kloudvault', autoProceed: true });
  uppy.use(Dashboard, {
    inline: true,
    target,
    height: 320,
    width: '100%',
    proudlyDisplayPoweredByUppy: false,
    showProgressDetails: true,
    disableThumbnailGenerator: true,
    note: 'Files go to the folder shown above.',
  });
  uppy.use(AwsS3, {
    shouldUseMultipart: () => true,
    getChunkSize: () => PART_SIZE,
    limit: 3,
    generateObjectKey: (file) => {
      const { bucket, prefix } = location();
      // A dropped folder's files keep their path below it (without a leading "/").
      const path = (file.meta.relativePath || file.name).replace(/^\/+/, '');
      return `${bucket}/${prefix}${path}`;
    },
    signRequest,
  });
  uppy.use(GoldenRetriever, {
    serviceWorker: false,
    indexedDB: { maxFileSize: RESTORE_MAX_FILE, maxTotalSize: RESTORE_MAX_TOTAL },
  });
  // Every file came back with its bytes: carry on at once, as the upload did before the
  // reload (autoProceed). Otherwise the Dashboard asks for the missing files first.
  uppy.on('restored', () => {
    const files = uppy.getFiles();
    if (files.length > 0 && !files.some((file) => file.isGhost)) uppy.emit('restore-confirmed');
  });
  uppy.on('upload-progress', (file, progress) => {
    const total = progress.bytesTotal || (file && file.size) || 0;
    onProgress(total ? Math.floor((100 * progress.bytesUploaded) / total) : 0);
  });
  uppy.on('upload-success', (file) => onUploaded(file.name));
  uppy.on('upload-error', (file, error) => {
    onError(file ? file.name : '', uploadErrorWords(error));
  });
  uppy.on('error', (error) => onError('', uploadErrorWords(error)));
  return uppy;
}

// Drop what GoldenRetriever keeps for a resume (its IndexedDB database holds both the
// uploads' state and the files' bytes). Best effort: the deletion completes once no
// connection to the database is left open.
export function forgetUploads() {
  try {
    window.indexedDB.deleteDatabase('uppy-blobs');
  } catch {
    // no IndexedDB (private mode in some browsers): nothing was kept
  }
}
